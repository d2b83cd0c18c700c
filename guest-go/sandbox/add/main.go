//go:build wasip1

// Command add is the seed's first guest (task 4): add(a, b).
package main

//go:wasmexport add
func add(a, b int32) int32 { return a + b }

func main() {}
