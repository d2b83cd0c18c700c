module wasminproduction/guest-go/sandbox

// Its own module: //go:wasmexport needs Go 1.24, while the browser module
// must still build with Go 1.21 for the shim-pinning comparison (task 9).
go 1.24
