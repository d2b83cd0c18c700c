//go:build js && wasm

// Command inspector is the Go module the browser app lazy-loads: a
// WebAssembly inspector that runs entirely in the page.
//
// It registers globalThis.wipInspector:
//
//	wipInspector.inspect(bytes: Uint8Array) -> string (JSON)
//	wipInspector.goVersion: string
//
// Success: {"ok":true,"size":N,"gzip_size":N,"version":1,
// "sections":[{"id":1,"name":"type","offset":N,"size":N},...],
// "imports":[{"module":"gojs","name":"...","kind":"func"},...],
// "exports":[{"name":"run","kind":"func","index":N},...],
// "custom_sections":[{"name":"producers","size":N},...],
// "producers":{"language":["Go 1.27.3"],...}|null,
// "name_section":{"module":"...","function_names":N}|null,
// "counts":{"types":N,"imports":N,"functions":N,...}}
//
// Failure: {"ok":false,"error":{"code":"not_wasm|unsupported_version|
// truncated|malformed|bad_argument","message":"...","offset":N}}
//
// It never panics on input: a panic would kill the Go runtime in the page.
// Once registered it calls globalThis.__goReady() and blocks forever.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"runtime"
	"syscall/js"

	"wasminproduction/guest-go/internal/wasminspect"
)

type success struct {
	OK       bool `json:"ok"`
	GzipSize int  `json:"gzip_size"`
	*wasminspect.Report
}

type failure struct {
	OK    bool               `json:"ok"`
	Error *wasminspect.Error `json:"error"`
}

func encode(v any) string {
	out, err := json.Marshal(v)
	if err != nil {
		out, _ = json.Marshal(failure{Error: &wasminspect.Error{Code: "internal", Message: err.Error()}})
	}
	return string(out)
}

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Len()
}

func inspect(_ js.Value, args []js.Value) any {
	if len(args) != 1 || !args[0].InstanceOf(js.Global().Get("Uint8Array")) {
		return encode(failure{Error: &wasminspect.Error{Code: "bad_argument", Message: "inspect expects one Uint8Array"}})
	}
	b := make([]byte, args[0].Get("length").Int())
	js.CopyBytesToGo(b, args[0])
	report, err := wasminspect.Inspect(b)
	if err != nil {
		var typed *wasminspect.Error
		if !errors.As(err, &typed) {
			typed = &wasminspect.Error{Code: "internal", Message: err.Error()}
		}
		return encode(failure{Error: typed})
	}
	return encode(success{OK: true, GzipSize: gzipSize(b), Report: report})
}

func main() {
	api := js.Global().Get("Object").New()
	api.Set("inspect", js.FuncOf(inspect))
	api.Set("goVersion", runtime.Version())
	js.Global().Set("wipInspector", api)
	if ready := js.Global().Get("__goReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}
