//go:build wasip1

// Command spin never returns (task 10b). Input "calls" spins through
// function calls; anything else spins in a loop with no calls at all.
package main

import "wasminproduction/guest-go/sandbox/internal/abi"

var sink int

//go:noinline
func step(i int) int { return i*31 + 7 }

func init() {
	abi.Handle(func(input []byte) ([]byte, error) {
		if string(input) == "calls" {
			for i := 0; ; i++ {
				sink += step(i)
			}
		}
		for {
			sink++
		}
	})
}

func main() {}
