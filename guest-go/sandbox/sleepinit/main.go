//go:build wasip1

// Command sleepinit blocks in a host call while the Go runtime starts
// (`_initialize`): its package init sleeps 30 s before the guest can take
// any input, so the deadline must cover start-up too, and an upload's
// smoke call must not wait for it.
package main

import (
	"time"

	"wasminproduction/guest-go/sandbox/internal/abi"
)

func init() {
	time.Sleep(30 * time.Second)
	abi.Handle(func(input []byte) ([]byte, error) { return input, nil })
}

func main() {}
