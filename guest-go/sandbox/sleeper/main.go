//go:build wasip1

// Command sleeper blocks in a host call (task 10, the case a spin loop does
// not cover): its handler sleeps, so the guest sits in WASI's poll_oneoff
// rather than running wasm. Input is a Go duration ("30s", the default for
// anything else); the host must still cut it at its deadline.
package main

import (
	"time"

	"wasminproduction/guest-go/sandbox/internal/abi"
)

func init() {
	abi.Handle(func(input []byte) ([]byte, error) {
		d, err := time.ParseDuration(string(input))
		if err != nil || d <= 0 {
			d = 30 * time.Second
		}
		time.Sleep(d)
		return []byte("slept " + d.String()), nil
	})
}

func main() {}
