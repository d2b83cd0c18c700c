//go:build wasip1

// Command trap fails inside the guest: input "nil" dereferences a nil
// pointer, anything else panics. Either way the Go runtime aborts the
// instance; the host must report it as a typed trap, never crash.
package main

import "wasminproduction/guest-go/sandbox/internal/abi"

type node struct {
	next  *node
	value byte
}

func init() {
	abi.Handle(func(input []byte) ([]byte, error) {
		if string(input) == "nil" {
			var n *node
			return []byte{n.next.value}, nil
		}
		panic("guest gave up on purpose")
	})
}

func main() {}
