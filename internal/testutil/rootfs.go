package testutil

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// BusyboxPath is where Debian's busybox-static package puts its binary; the
// Makefile's test target installs the package when it is missing.
const BusyboxPath = "/bin/busybox"

// busyboxApplets are the commands the root filesystem tests use.
var busyboxApplets = []string{
	"sh", "ls", "cat", "echo", "mount", "umount", "ps", "id", "mkdir", "touch", "rm",
	"sha256sum", "cp", "find", "stat", "readlink", "test", "true", "false", "sleep", "pwd",
	"ln", "hostname", "chroot", "head", "grep", "wc", "df", "tty", "env",
}

// BusyboxRoot builds a small root filesystem in a new temporary directory
// from the statically linked busybox of Debian's busybox-static: /bin/busybox,
// a relative symlink per applet the tests use, and the usual empty
// directories. A root test fails without it (RequireRoot's rule: a skipped
// root test proves nothing).
func BusyboxRoot(t testing.TB) string {
	t.Helper()
	f, err := elf.Open(BusyboxPath)
	if err != nil {
		t.Fatalf("the root filesystem tests need a static %s (apt-get install busybox-static; make test does it): %v", BusyboxPath, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			f.Close()
			t.Fatalf("%s is dynamically linked; the tests need busybox-static's", BusyboxPath)
		}
	}
	f.Close()
	root := t.TempDir()
	for _, d := range []string{"bin", "proc", "dev", "tmp", "etc", "root", "sys", "mnt"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}
