//go:build wasip1

// Command fsprobe tries to read, list and write files and reports, as JSON,
// what each attempt returned. With no preopened directory all must fail.
package main

import (
	"encoding/json"
	"os"

	"wasminproduction/guest-go/sandbox/internal/abi"
)

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func init() {
	abi.Handle(func([]byte) ([]byte, error) {
		_, readErr := os.ReadFile("/etc/passwd")
		_, listErr := os.ReadDir("/")
		writeErr := os.WriteFile("/tmp/escaped", []byte("x"), 0o644)
		_, cwdErr := os.ReadDir(".")
		return json.Marshal(map[string]string{
			"read /etc/passwd": errString(readErr),
			"list /":           errString(listErr),
			"write /tmp":       errString(writeErr),
			"list .":           errString(cwdErr),
		})
	})
}

func main() {}
