package cve

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A reopening is a deliberately broken rawns-oci: a copy of this tree,
// built in a temporary directory, with one exact edit that brings a CVE's
// hole back. OCITEST_REOPEN=CVE-... builds it in place of rawns-oci and
// expects that CVE's tests to find the hole (make cve-prove runs them
// all); a normal build carries nothing of it. An edit that no longer
// applies (its old text is gone) fails the run: the test needs updating
// with the code it breaks.
type reopening struct {
	file, old, new string
}

var reopenings = map[string]reopening{
	// runc before 1.1.2 gave the inheritable set the bounding set's
	// capabilities.
	"CVE-2022-29162": {
		file: "oci/process.go",
		old:  "\tif extra := c.Effective &^ c.Permitted; extra != 0 {",
		new:  "\tc.Inheritable = c.Bounding // reopened by ocitest/cve (CVE-2022-29162)\n\tif extra := c.Effective &^ c.Permitted; extra != 0 {",
	},
}

// buildReopened builds rawns-oci with cve's hole reopened into out.
func buildReopened(cve, out, tmp string) error {
	ro, ok := reopenings[cve]
	if !ok {
		var known []string
		for k := range reopenings {
			known = append(known, k)
		}
		return fmt.Errorf("OCITEST_REOPEN=%s: no reopening for it; known: %s", cve, strings.Join(known, ", "))
	}
	src := filepath.Join(tmp, "tree")
	if err := copyTree("../..", src); err != nil {
		return err
	}
	path := filepath.Join(src, ro.file)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if strings.Count(string(b), ro.old) != 1 {
		return fmt.Errorf("reopening %s: %s no longer holds %q once: update ocitest/cve/reopen_test.go", cve, ro.file, ro.old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), ro.old, ro.new, 1)), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/rawns-oci")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the reopened rawns-oci: %v\n%s", err, b)
	}
	return nil
}

// copyTree copies the module's files (not bin/, .git, caches) to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			switch d.Name() {
			case "bin", ".git", ".vmtest-cache", "testdata":
				if rel != "." {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}
