module wasminproduction/guest-go

// 1.21 so the browser module also builds with the older pinned toolchain (the
// shim-pinning task builds it with Go 1.21.13 and 1.27.3).
go 1.21
