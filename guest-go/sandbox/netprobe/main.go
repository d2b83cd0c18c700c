//go:build wasip1

// Command netprobe dials the TCP address given as input (the test runs a
// real listener there) and tries to listen, reporting what each returned.
// The host grants no sockets: Go's wasip1 port falls back to its in-process
// fake network, so the dial never reaches the host and a "listen" only
// exists inside this instance.
package main

import (
	"wasminproduction/guest-go/sandbox/internal/abi"
	"wasminproduction/guest-go/sandbox/internal/probe"
)

func init() { abi.Handle(probe.Net) }

func main() {}
