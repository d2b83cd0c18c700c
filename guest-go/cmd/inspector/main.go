//go:build js && wasm

// Command inspector is the Go module the browser app lazy-loads: a
// WebAssembly inspector that runs entirely in the page (stdlib only).
//
// # JS API
//
// It registers globalThis.wipInspector:
//
//	wipInspector.inspect(bytes: Uint8Array) -> string  // JSON, below
//	wipInspector.goVersion: string                      // runtime.Version()
//
// then calls globalThis.__goReady() if it is a function, and blocks forever
// (the Go runtime must stay alive to serve inspect calls).
//
// # JSON contract
//
// Success, as produced for this module itself (built with -s -w; abridged
// with "..."):
//
//	{"ok":true,"gzip_size":1319231,"size":4765468,"version":1,
//	 "sections":[{"id":0,"name":"go:buildid","offset":8,"size":114},
//	             {"id":1,"name":"type","offset":128,"size":59}, ...,
//	             {"id":0,"name":"producers","offset":4765391,"size":71}],
//	 "imports":[{"module":"gojs","name":"runtime.scheduleTimeoutEvent","kind":"func"}, ...],
//	 "exports":[{"name":"run","kind":"func","index":1435}, ...,
//	            {"name":"mem","kind":"memory","index":0}],
//	 "custom_sections":[{"name":"go:buildid","size":114},{"name":"producers","size":71}],
//	 "producers":{"language":["Go go1.27.3"],"processed-by":["Go cmd/compile go1.27.3"]},
//	 "name_section":null,
//	 "counts":{"types":11,"imports":23,"functions":2637,"tables":1,"memories":1,
//	           "globals":8,"tags":0,"exports":4,"elements":1,"code_bodies":2637,
//	           "data_segments":44729,"imported_functions":23}}
//
// "producers" and "name_section" are null when the module has no such
// custom section (or a malformed one). A producers value is "name version",
// or "name" when the version is empty. "name_section" is
// {"module":"<module name or empty>","function_names":N} (e.g. N = 2637 for
// this module built without -s). "counts.start" (the start function's
// index) is present only when there is a start section.
//
// "size" is the input's length, "gzip_size" its length after
// compress/gzip at BestCompression (-9), computed here in the browser.
// Section "size" is the payload size; "offset" is where the section's id
// byte is. A custom section (id 0) is named by its own name. Import and
// export kinds are func, table, memory, global or tag.
//
// Failure (this module's first 100000 bytes):
//
//	{"ok":false,"error":{"code":"truncated",
//	 "message":"section 10 (code) declares 3176124 bytes, only 91172 remain","offset":8822}}
//
// with code one of not_wasm (empty or no \0asm magic), unsupported_version,
// truncated (the input ends before the module does), malformed (bad
// LEB128, content overrunning its section, unknown ids or kinds, sections
// out of order, inconsistent counts, non-UTF-8 names), bad_argument (not
// called with exactly one Uint8Array; offset 0) or internal (a bug: a
// recovered panic; offset 0). inspect never panics into the page: a Go
// panic escaping a js.Func would kill the Go runtime.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
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

func fail(code, message string) string {
	return encode(failure{Error: &wasminspect.Error{Code: code, Message: message}})
}

func encode(v any) string {
	out, err := json.Marshal(v)
	if err != nil {
		out, _ = json.Marshal(failure{Error: &wasminspect.Error{Code: "internal", Message: err.Error()}})
	}
	return string(out)
}

func gzipSize(b []byte) (int, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(b); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}

func inspect(_ js.Value, args []js.Value) (result any) {
	defer func() {
		if p := recover(); p != nil {
			result = fail("internal", fmt.Sprintf("inspector bug: %v", p))
		}
	}()
	if len(args) != 1 || args[0].Type() != js.TypeObject || !args[0].InstanceOf(js.Global().Get("Uint8Array")) {
		return fail("bad_argument", "inspect expects exactly one Uint8Array")
	}
	b := make([]byte, args[0].Get("length").Int())
	js.CopyBytesToGo(b, args[0])
	return inspectBytes(b)
}

func inspectBytes(b []byte) string {
	report, err := wasminspect.Inspect(b)
	if err != nil {
		var typed *wasminspect.Error
		if !errors.As(err, &typed) {
			typed = &wasminspect.Error{Code: "internal", Message: err.Error()}
		}
		return encode(failure{Error: typed})
	}
	gz, err := gzipSize(b)
	if err != nil {
		return fail("internal", "gzip: "+err.Error())
	}
	return encode(success{OK: true, GzipSize: gz, Report: report})
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
