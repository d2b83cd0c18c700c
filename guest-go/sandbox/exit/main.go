//go:build wasip1

// Command exit calls os.Exit(3) in the middle of a call.
package main

import (
	"os"

	"wasminproduction/guest-go/sandbox/internal/abi"
)

func init() {
	abi.Handle(func([]byte) ([]byte, error) {
		os.Exit(3)
		return nil, nil
	})
}

func main() {}
