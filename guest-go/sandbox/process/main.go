//go:build wasip1

// Command process is a plugin someone would deploy: CSV in, JSON out.
// The first row is the header; every following row becomes an object.
// Malformed CSV is a guest error (code 2), reported through the ABI's
// error channel, not a trap. The conversion itself lives in
// internal/csvjson, shared with the native program the isolation bench runs.
package main

import (
	"fmt"
	"hash/fnv"
	"strconv"

	"wasminproduction/guest-go/sandbox/internal/abi"
	"wasminproduction/guest-go/sandbox/internal/csvjson"
)

// version is shown in every output so two builds can be told apart; the
// pipeline builds a second plugin version with -ldflags=-X main.version=csv2json/2.
var version = "csv2json/1"

// trapPercent gives a build a latent bug for the canary-rollout demo: the
// pipeline's process_flaky sets it with -ldflags=-X main.trapPercent=10,
// and then an input whose FNV-1a hash mod 100 is below it panics (a wasm
// trap). Empty or 0, as in the default build, never traps. The choice
// depends only on the input's bytes, so a retry of an input fails the same way.
var trapPercent = ""

func convert(input []byte) ([]byte, error) {
	if hitsLatentBug(input) {
		panic("csv2json: latent bug hit (a build with trapPercent=" + trapPercent + ")")
	}
	out, rows, err := csvjson.Convert(input, version)
	if rejected, ok := err.(*csvjson.Error); ok {
		return nil, &abi.Error{Code: rejected.Code, Message: rejected.Message}
	}
	abi.Log(fmt.Sprintf("converted %d rows", rows))
	return out, err
}

func hitsLatentBug(input []byte) bool {
	percent, err := strconv.Atoi(trapPercent)
	if err != nil || percent <= 0 {
		return false
	}
	h := fnv.New32a()
	h.Write(input)
	return int(h.Sum32()%100) < percent
}

func init() { abi.Handle(convert) }

func main() {}
