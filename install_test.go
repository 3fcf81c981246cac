package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeInstall: `make install PREFIX=/usr DESTDIR=D` puts every binary
// of make build together under D/usr/libexec/rawns and links D/usr/bin/rawns
// to it, and the installed rawns finds its siblings through the link:
// rawns bench and rawns trace run rawns-bench and rawns-trace (a rawns from
// `go install .` alone said "rawns-trace not found"; issue 25). make
// uninstall removes it all. Needs make and the go tool, as make build
// does (not in the vmtest's initramfs).
func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make install needs make: %v", err)
	}
	dest := t.TempDir()
	mk := func(target string) string {
		t.Helper()
		out, err := exec.Command("make", "--no-print-directory", target, "PREFIX=/usr", "DESTDIR="+dest).CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	mk("install")
	link := filepath.Join(dest, "usr/bin/rawns")
	if to, err := os.Readlink(link); err != nil || to != "../libexec/rawns/rawns" {
		t.Fatalf("%s: link to %q, %v; want ../libexec/rawns/rawns", link, to, err)
	}
	for _, b := range []string{"rawns", "rawns-trace", "rawns-bench", "spawn-c", "go-empty"} {
		if st, err := os.Stat(filepath.Join(dest, "usr/libexec/rawns", b)); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("usr/libexec/rawns/%s: %v", b, err)
		}
	}
	for _, c := range [][]string{{"version"}, {"bench", "--help"}, {"trace", "--help"}} {
		cmd := exec.Command(link, c...)
		// Not found on PATH instead: only next to rawns.
		cmd.Env = append(os.Environ(), "PATH=/nonexistent")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "rawns") {
			t.Errorf("the installed rawns %s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	mk("uninstall")
	var left []string
	filepath.Walk(dest, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("make uninstall left %v", left)
	}
}
