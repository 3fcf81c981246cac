// Command go-os does nothing but import package os: the floor of any Go
// command-line tool in rawns bench --whole, which cannot do without os. Its
// start-up is go-empty's plus the package inits os brings (os, syscall,
// time, internal/godebug, internal/poll), one of which grows the main
// goroutine's stack from 4 to 8 KiB (docs/benchmarks.md counts the faults).
package main

import "os"

func main() {
	if len(os.Args) > 1 {
		os.Exit(2) // it takes no arguments
	}
}
