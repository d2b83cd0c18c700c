//go:build wasip1

// Command logflood calls the log capability in a tight loop with large
// messages; the host must cap it without slowing down or running out of memory.
package main

import (
	"strings"

	"wasminproduction/guest-go/sandbox/internal/abi"
)

func init() {
	abi.Handle(func([]byte) ([]byte, error) {
		big := []byte(strings.Repeat("flood ", 64<<10/6))
		for i := 0; i < 10000; i++ {
			abi.LogBytes(big)
		}
		return []byte("done"), nil
	})
}

func main() {}
