//go:build wasip1

// Package abi is the guest side of the sandbox ABI (see ARCHITECTURE.md):
//
//	wip_alloc(len u32) -> ptr u32        the host asks for an input buffer
//	wip_process(ptr u32, len u32) -> i32  0 = ok, >0 = guest error code
//	wip_output_ptr() -> u32               output bytes (or the error message)
//	wip_output_len() -> u32
//
// and the one host capability, env.log(ptr, len).
//
// A guest error (bad input the plugin itself rejects) travels through the
// return code and the output buffer; a Go panic or runtime failure is not a
// guest error: it ends the instance and the host reports a trap.
package abi

import "unsafe"

// Error is an error with a code for the structured error channel.
type Error struct {
	Code    int32
	Message string
}

func (e *Error) Error() string { return e.Message }

// Handler turns input bytes into output bytes.
type Handler func(input []byte) ([]byte, error)

var (
	handler Handler
	// Buffers handed to the host stay referenced until consumed, so the GC
	// cannot reclaim memory the host is writing into.
	pending = map[uint32][]byte{}
	output  []byte
)

// Handle registers the guest's processing function.
func Handle(h Handler) { handler = h }

//go:wasmexport wip_alloc
func wipAlloc(size uint32) uint32 {
	b := make([]byte, size+1) // +1: a zero-length input still gets a distinct address
	ptr := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	pending[ptr] = b
	return ptr
}

//go:wasmexport wip_process
func wipProcess(ptr, size uint32) int32 {
	buf, ok := pending[ptr]
	if !ok || uint32(len(buf)) < size {
		output = []byte("wip_process called with a buffer wip_alloc did not return")
		return 1
	}
	delete(pending, ptr)
	if handler == nil {
		output = []byte("guest registered no handler")
		return 1
	}
	out, err := handler(buf[:size])
	if err != nil {
		output = []byte(err.Error())
		if e, ok := err.(*Error); ok && e.Code > 0 {
			return e.Code
		}
		return 1
	}
	output = out
	return 0
}

//go:wasmexport wip_output_ptr
func wipOutputPtr() uint32 {
	if len(output) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(output))))
}

//go:wasmexport wip_output_len
func wipOutputLen() uint32 { return uint32(len(output)) }

//go:wasmimport env log
func hostLog(ptr unsafe.Pointer, size uint32)

// Log sends one line to the host's logger (the guest's only capability).
func Log(message string) { LogBytes([]byte(message)) }

// LogBytes is Log without the string conversion.
func LogBytes(message []byte) {
	if len(message) == 0 {
		return
	}
	hostLog(unsafe.Pointer(unsafe.SliceData(message)), uint32(len(message)))
}

// ErrString is err's message, or "" for nil (probe guests report both).
func ErrString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
