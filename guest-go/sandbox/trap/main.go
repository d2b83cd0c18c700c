//go:build wasip1

// Command trap is a plugin with latent crashes: input "nil" dereferences
// a nil pointer, "panic" panics, anything else is echoed back (so it passes
// the registry's smoke call and crashes later, as real bugs do). Either
// crash aborts the Go runtime; the host must report it as a typed trap,
// never crash.
package main

import "wasminproduction/guest-go/sandbox/internal/abi"

type node struct {
	next  *node
	value byte
}

func init() {
	abi.Handle(func(input []byte) ([]byte, error) {
		switch string(input) {
		case "nil":
			var n *node
			return []byte{n.next.value}, nil
		case "panic":
			panic("guest gave up on purpose")
		}
		return input, nil
	})
}

func main() {}
