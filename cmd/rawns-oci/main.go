// Command rawns-oci is rawns as an OCI runtime: runc's command line over
// rawns's raw clone, for podman (--runtime), containerd (BinaryName),
// dockerd (--add-runtime) and Kubernetes through containerd
// (docs/oci.md). It is a binary of its own, beside rawns, so that
// `rawns run` links none of encoding/json and the runtime-spec's types.
package main

import (
	"os"

	oci "github.com/rawns/rawns/internal/cmd/oci"
)

// version is set with -ldflags "-X main.version=..." by the Makefile.
var version = ""

func main() {
	os.Exit(oci.Main(os.Args[1:], os.Stdout, os.Stderr, version))
}
