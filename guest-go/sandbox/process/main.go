//go:build wasip1

// Command process is a plugin someone would deploy: CSV in, JSON out.
// The first row is the header; every following row becomes an object.
// Malformed CSV is a guest error (code 2), reported through the ABI's
// error channel, not a trap.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"

	"wasminproduction/guest-go/sandbox/internal/abi"
)

// version is shown in every output so two builds can be told apart; the
// pipeline builds a second plugin version with -ldflags=-X main.version=csv2json/2.
var version = "csv2json/1"

type result struct {
	Version string              `json:"version"`
	Columns []string            `json:"columns"`
	Rows    []map[string]string `json:"rows"`
}

func convert(input []byte) ([]byte, error) {
	records, err := csv.NewReader(bytes.NewReader(input)).ReadAll()
	if err != nil {
		return nil, &abi.Error{Code: 2, Message: "invalid CSV: " + err.Error()}
	}
	if len(records) == 0 {
		return nil, &abi.Error{Code: 3, Message: "empty input: expected a header row"}
	}
	out := result{Version: version, Columns: records[0], Rows: []map[string]string{}}
	for _, rec := range records[1:] {
		row := make(map[string]string, len(rec))
		for i, v := range rec {
			row[out.Columns[i]] = v
		}
		out.Rows = append(out.Rows, row)
	}
	abi.Log(fmt.Sprintf("converted %d rows", len(out.Rows)))
	return json.Marshal(out)
}

func init() { abi.Handle(convert) }

func main() {}
