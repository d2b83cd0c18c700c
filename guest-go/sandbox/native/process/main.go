//go:build linux

// Command process is the `process` plugin (internal/csvjson, the same code
// as the wasip1 guest) as a native Linux program: the alternative that
// `cargo xtask bench isolation` measures against the Wasm sandbox. It is
// not a sandbox guest (guests are the directories directly under
// guest-go/sandbox/), and it is built statically (CGO_ENABLED=0) so it
// runs in a bubblewrap root holding nothing but itself.
//
// Usage: process [worker] [handler]
//
// One-shot (default): the input is all of stdin; the output goes to stdout
// with exit 0. A rejected input exits with the plugin's error code (2
// invalid CSV, 3 no header) and the message on stderr; anything else that
// fails exits 1.
//
// worker: a long-lived pool worker. It first writes an empty ok response
// (ready), then for each request (u32 big-endian length, then the bytes)
// writes a response: a status byte (0 ok, else the error code), a u32
// big-endian length and the bytes (the output or the error message).
// It exits when stdin closes.
//
// Handlers: process (the default) and the hostile cases the bench runs
// through every isolation variant, mirroring the Wasm guests of the same
// purpose: bomb (allocates without bound), spin (never returns), sleep
// (sleeps for the Go duration in the input, 30s otherwise), fsprobe (reads,
// lists and writes files) and netprobe (dials the TCP address in the input).
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"wasminproduction/guest-go/sandbox/internal/csvjson"
	"wasminproduction/guest-go/sandbox/internal/probe"
)

// version matches the wasip1 guest's, so both outputs are byte-identical.
var version = "csv2json/1"

type handler func(input []byte) ([]byte, error)

var handlers = map[string]handler{
	"process": func(input []byte) ([]byte, error) {
		out, _, err := csvjson.Convert(input, version)
		return out, err
	},
	"bomb":     bomb,
	"spin":     spin,
	"sleep":    sleep,
	"fsprobe":  fsprobe,
	"netprobe": probe.Net,
}

func main() {
	args := os.Args[1:]
	worker := len(args) > 0 && args[0] == "worker"
	if worker {
		args = args[1:]
	}
	name := "process"
	if len(args) > 0 {
		name = args[0]
	}
	h, ok := handlers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown handler %q\n", name)
		os.Exit(64)
	}
	if worker {
		if err := serve(h, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := h(input)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(int(code(err)))
	}
	if _, err := os.Stdout.Write(out); err != nil {
		os.Exit(1)
	}
}

// code is the status a failed call reports: the plugin's own code for a
// rejected input, 1 for anything else.
func code(err error) int32 {
	if rejected, ok := err.(*csvjson.Error); ok && rejected.Code > 0 {
		return rejected.Code
	}
	return 1
}

// serve answers length-prefixed requests until stdin closes.
func serve(h handler, in io.Reader, out io.Writer) error {
	r := bufio.NewReader(in)
	w := bufio.NewWriter(out)
	respond := func(status int32, body []byte) error {
		var head [5]byte
		head[0] = byte(status)
		binary.BigEndian.PutUint32(head[1:], uint32(len(body)))
		if _, err := w.Write(head[:]); err != nil {
			return err
		}
		if _, err := w.Write(body); err != nil {
			return err
		}
		return w.Flush()
	}
	if err := respond(0, nil); err != nil {
		return err
	}
	for {
		var size [4]byte
		if _, err := io.ReadFull(r, size[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		input := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(r, input); err != nil {
			return err
		}
		output, err := h(input)
		if err != nil {
			err = respond(code(err), []byte(err.Error()))
		} else {
			err = respond(0, output)
		}
		if err != nil {
			return err
		}
	}
}

var hold [][]byte

func bomb([]byte) ([]byte, error) {
	for {
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		hold = append(hold, chunk)
	}
}

var sink int

func spin([]byte) ([]byte, error) {
	for {
		sink++
	}
}

func sleep(input []byte) ([]byte, error) {
	d, err := time.ParseDuration(string(input))
	if err != nil || d <= 0 {
		d = 30 * time.Second
	}
	time.Sleep(d)
	return []byte("slept " + d.String()), nil
}

// errString is err's message, or "" for success (the Wasm probes' format).
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func fsprobe([]byte) ([]byte, error) {
	passwd, readErr := os.ReadFile("/etc/passwd")
	_, listErr := os.ReadDir("/")
	writeErr := os.WriteFile("/tmp/escaped", []byte("x"), 0o644)
	_, cwdErr := os.ReadDir(".")
	return json.Marshal(map[string]any{
		"read /etc/passwd": errString(readErr),
		"bytes read":       len(passwd),
		"list /":           errString(listErr),
		"write /tmp":       errString(writeErr),
		"list .":           errString(cwdErr),
	})
}
