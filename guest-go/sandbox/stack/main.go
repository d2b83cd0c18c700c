//go:build wasip1

// Command stack recurses without bound.
package main

import "wasminproduction/guest-go/sandbox/internal/abi"

//go:noinline
func deeper(n int) int { return deeper(n+1) + 1 }

func init() {
	abi.Handle(func([]byte) ([]byte, error) {
		return []byte{byte(deeper(0))}, nil
	})
}

func main() {}
