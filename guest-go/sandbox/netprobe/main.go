//go:build wasip1

// Command netprobe dials the TCP address given as input (the test runs a
// real listener there) and tries to listen, reporting what each returned.
// The host grants no sockets: Go's wasip1 port falls back to its in-process
// fake network, so the dial never reaches the host and a "listen" only
// exists inside this instance.
package main

import (
	"encoding/json"
	"net"
	"time"

	"wasminproduction/guest-go/sandbox/internal/abi"
)

func init() {
	abi.Handle(func(input []byte) ([]byte, error) {
		conn, dialErr := net.DialTimeout("tcp", string(input), time.Second)
		if conn != nil {
			conn.Close()
		}
		ln, listenErr := net.Listen("tcp", "127.0.0.1:0")
		if ln != nil {
			ln.Close()
		}
		return json.Marshal(map[string]string{
			"dial tcp":   abi.ErrString(dialErr),
			"listen tcp": abi.ErrString(listenErr),
		})
	})
}

func main() {}
