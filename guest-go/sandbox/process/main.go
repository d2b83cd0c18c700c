//go:build wasip1

// Command process is a plugin someone would deploy: CSV in, JSON out.
// The first row is the header; every following row becomes an object.
// Malformed CSV is a guest error (code 2), reported through the ABI's
// error channel, not a trap. The conversion itself lives in
// internal/csvjson, shared with the native program the isolation bench runs.
package main

import (
	"fmt"

	"wasminproduction/guest-go/sandbox/internal/abi"
	"wasminproduction/guest-go/sandbox/internal/csvjson"
)

// version is shown in every output so two builds can be told apart; the
// pipeline builds a second plugin version with -ldflags=-X main.version=csv2json/2.
var version = "csv2json/1"

func convert(input []byte) ([]byte, error) {
	out, rows, err := csvjson.Convert(input, version)
	if rejected, ok := err.(*csvjson.Error); ok {
		return nil, &abi.Error{Code: rejected.Code, Message: rejected.Message}
	}
	abi.Log(fmt.Sprintf("converted %d rows", rows))
	return out, err
}

func init() { abi.Handle(convert) }

func main() {}
