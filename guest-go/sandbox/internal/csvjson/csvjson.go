// Package csvjson is the CSV → JSON conversion of the `process` plugin,
// shared by the wasip1 guest (process/) and the native Linux program
// (native/process/) that `cargo xtask bench isolation` runs as a process,
// so both sides of that comparison run exactly the same logic.
//
// The first row is the header; every following row becomes an object.
package csvjson

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
)

// Error is an input the plugin rejects, with its code for the error channel
// (2 invalid CSV, 3 no header row).
type Error struct {
	Code    int32
	Message string
}

func (e *Error) Error() string { return e.Message }

type result struct {
	Version string              `json:"version"`
	Columns []string            `json:"columns"`
	Rows    []map[string]string `json:"rows"`
}

// Convert turns CSV into the plugin's JSON, tagged with version, and also
// returns the number of data rows. Malformed input is an *Error.
func Convert(input []byte, version string) (out []byte, rows int, err error) {
	records, err := csv.NewReader(bytes.NewReader(input)).ReadAll()
	if err != nil {
		return nil, 0, &Error{Code: 2, Message: "invalid CSV: " + err.Error()}
	}
	if len(records) == 0 {
		return nil, 0, &Error{Code: 3, Message: "empty input: expected a header row"}
	}
	res := result{Version: version, Columns: records[0], Rows: []map[string]string{}}
	for _, rec := range records[1:] {
		row := make(map[string]string, len(rec))
		for i, v := range rec {
			row[res.Columns[i]] = v
		}
		res.Rows = append(res.Rows, row)
	}
	out, err = json.Marshal(res)
	return out, len(res.Rows), err
}
