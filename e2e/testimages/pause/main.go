// Command pause is the process of the pod sandboxes in the CRI tests' images
// (e2e/cri_test.go), as Kubernetes's own pause image has it: it holds the
// pod's namespaces open, does nothing, reaps the children a shared PID
// namespace hands it (it is PID 1 there), and exits on SIGINT or SIGTERM.
// The image registry Kubernetes pulls it from is not reachable here, so the
// tests build their own.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
