//go:build wasip1

// Command fsprobe tries to read, list and write files and reports, as JSON,
// what each attempt returned. With no preopened directory all must fail.
package main

import (
	"encoding/json"
	"os"

	"wasminproduction/guest-go/sandbox/internal/abi"
)

func init() {
	abi.Handle(func([]byte) ([]byte, error) {
		_, readErr := os.ReadFile("/etc/passwd")
		_, listErr := os.ReadDir("/")
		writeErr := os.WriteFile("/tmp/escaped", []byte("x"), 0o644)
		_, cwdErr := os.ReadDir(".")
		return json.Marshal(map[string]string{
			"read /etc/passwd": abi.ErrString(readErr),
			"list /":           abi.ErrString(listErr),
			"write /tmp":       abi.ErrString(writeErr),
			"list .":           abi.ErrString(cwdErr),
		})
	})
}

func main() {}
