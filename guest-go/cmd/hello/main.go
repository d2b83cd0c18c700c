//go:build js && wasm

// Command hello is the walking-skeleton browser module: it registers
// goHello(name) on the global object, signals readiness and stays alive so
// JavaScript can keep calling it.
package main

import (
	"fmt"
	"runtime"
	"syscall/js"
)

func main() {
	js.Global().Set("goHello", js.FuncOf(func(this js.Value, args []js.Value) any {
		name := "world"
		if len(args) > 0 && args[0].Type() == js.TypeString {
			name = args[0].String()
		}
		return fmt.Sprintf("Hello, %s, from Go %s (%s/%s)", name, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}))
	if ready := js.Global().Get("__goReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	// The Go runtime exits when main returns; block so the exported function stays callable.
	select {}
}
