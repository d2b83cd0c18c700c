//go:build wasip1

// Command bomb allocates without bound (task 10a).
package main

import "wasminproduction/guest-go/sandbox/internal/abi"

var hold [][]byte

func init() {
	abi.Handle(func([]byte) ([]byte, error) {
		for {
			chunk := make([]byte, 1<<20)
			for i := range chunk {
				chunk[i] = byte(i)
			}
			hold = append(hold, chunk)
		}
	})
}

func main() {}
