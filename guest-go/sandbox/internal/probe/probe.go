// Package probe holds the network probe that both the wasip1 netprobe guest
// and the native twin of the isolation bench run, so the two sandboxes are
// asked exactly the same thing.
package probe

import (
	"encoding/json"
	"net"
	"time"
)

// Net dials the TCP address in input and tries to listen on loopback; it
// reports what each returned ("" for success).
func Net(input []byte) ([]byte, error) {
	conn, dialErr := net.DialTimeout("tcp", string(input), time.Second)
	if conn != nil {
		conn.Close()
	}
	ln, listenErr := net.Listen("tcp", "127.0.0.1:0")
	if ln != nil {
		ln.Close()
	}
	return json.Marshal(map[string]string{
		"dial tcp":   errString(dialErr),
		"listen tcp": errString(listenErr),
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
