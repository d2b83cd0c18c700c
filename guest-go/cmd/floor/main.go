//go:build js && wasm

// Command floor does nothing. Built with the same flags as the browser
// modules, its size is the floor every Go js/wasm binary pays for the Go
// runtime (scheduler, GC, syscall/js glue) before any of its own code.
// It is measured by `cargo xtask build`, never served.
package main

func main() {}
