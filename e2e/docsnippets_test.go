//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The registration snippets users copy from docs/oci.md are the ones this
// suite runs with: the CRI test takes rawns's containerd runtime handler
// from the block after "<!-- e2e:containerd-handler -->" (with the binary's
// path of this build put in BinaryName), and the handler name critest is
// given from the RuntimeClass after "<!-- e2e:runtimeclass -->". A change
// to either that breaks them breaks the suite.

// docSnippet returns the fenced code block that follows marker in
// docs/oci.md.
func docSnippet(marker string) (string, error) {
	path := filepath.Join(repoRoot(), "docs", "oci.md")
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found, in := false, false
	var b strings.Builder
	for sc.Scan() {
		l := sc.Text()
		switch {
		case !found:
			found = strings.Contains(l, "<!-- "+marker+" ")
		case !in && strings.HasPrefix(l, "```"):
			in = true
		case in && strings.HasPrefix(l, "```"):
			return b.String(), nil
		case in:
			b.WriteString(l + "\n")
		}
	}
	if !found {
		return "", fmt.Errorf("%s: no <!-- %s --> marker", path, marker)
	}
	return "", fmt.Errorf("%s: no fenced block after <!-- %s -->", path, marker)
}

var (
	handlerTable = regexp.MustCompile(`(?m)^\s*\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.([A-Za-z0-9_-]+)\]\s*$`)
	binaryName   = regexp.MustCompile(`(?m)^(\s*BinaryName\s*=\s*)"[^"]*"`)
	rcHandler    = regexp.MustCompile(`(?m)^handler:\s*(\S+)\s*$`)
	rcKind       = regexp.MustCompile(`(?m)^kind:\s*RuntimeClass\s*$`)
)

// rawnsHandler returns docs/oci.md's containerd handler for rawns, with
// binary as its BinaryName, and the handler's name, checked against the
// RuntimeClass of the same page.
func rawnsHandler(binary string) (config, name string, err error) {
	snippet, err := docSnippet("e2e:containerd-handler")
	if err != nil {
		return "", "", err
	}
	m := handlerTable.FindStringSubmatch(snippet)
	if m == nil {
		return "", "", fmt.Errorf("docs/oci.md's containerd snippet has no [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.NAME] table:\n%s", snippet)
	}
	name = m[1]
	if !strings.Contains(snippet, `runtime_type = "io.containerd.runc.v2"`) {
		return "", "", fmt.Errorf("docs/oci.md's containerd snippet does not use the runc shim v2 (runtime_type = \"io.containerd.runc.v2\"):\n%s", snippet)
	}
	if !binaryName.MatchString(snippet) {
		return "", "", fmt.Errorf("docs/oci.md's containerd snippet sets no BinaryName:\n%s", snippet)
	}
	config = binaryName.ReplaceAllString(snippet, fmt.Sprintf("${1}%q", binary))
	rc, err := docSnippet("e2e:runtimeclass")
	if err != nil {
		return "", "", err
	}
	h := rcHandler.FindStringSubmatch(rc)
	if h == nil || !rcKind.MatchString(rc) || !strings.Contains(rc, "apiVersion: node.k8s.io/v1") {
		return "", "", fmt.Errorf("docs/oci.md's RuntimeClass is not a node.k8s.io/v1 RuntimeClass with a handler:\n%s", rc)
	}
	if h[1] != name {
		return "", "", fmt.Errorf("docs/oci.md: the RuntimeClass's handler %q is not the containerd runtime %q its snippet configures", h[1], name)
	}
	return config, name, nil
}
