package run

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCompatTable holds compat (what rawns run answers to another tool's
// flag) and docs/cli.md's tables "Coming from unshare or bubblewrap" and
// "Coming from docker or podman" together. In each table, each column but
// the last is another tool's, the last is rawns's. Every flag of another
// tool's column is either one rawns run has, or one compat answers, and
// then the answer names a flag of the row's rawns column when that column
// names any; every flag compat answers is in a table. The vmtest leaves it
// out: the VMs hold no docs.
func TestCompatTable(t *testing.T) {
	b, err := os.ReadFile("../../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	var section string
	for _, part := range strings.Split(string(b), "\n## ")[1:] {
		if strings.HasPrefix(part, "Coming from ") {
			section += part
		}
	}
	if !strings.Contains(section, "unshare or bubblewrap") || !strings.Contains(section, "docker or podman") {
		t.Fatal("docs/cli.md lacks a section \"Coming from unshare or bubblewrap\" or \"Coming from docker or podman\"")
	}
	ours := map[string]bool{}
	for _, d := range runFlags() {
		ours["--"+d.Name] = true
		if d.Short != "" {
			ours["-"+d.Short] = true
		}
	}
	flagRE := regexp.MustCompile("`([^`]*)`")
	flagsIn := func(cell string) []string {
		var fs []string
		for _, m := range flagRE.FindAllStringSubmatch(cell, -1) {
			for _, w := range strings.Fields(m[1]) {
				if regexp.MustCompile(`^--?[A-Za-z][-A-Za-z0-9]*$`).MatchString(w) {
					fs = append(fs, w)
				}
			}
		}
		return fs
	}
	inDocs := map[string]bool{}
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "| ---") || strings.HasSuffix(line, "| rawns |") || strings.HasSuffix(line, "| rawns run |") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			t.Fatalf("docs/cli.md: a row of one column: %q", line)
		}
		rows++
		var named []string // rawns's flags the row's last column names
		for _, f := range flagsIn(cells[len(cells)-1]) {
			if ours[f] {
				named = append(named, f)
			}
		}
		for _, cell := range cells[:len(cells)-1] {
			for _, f := range flagsIn(cell) {
				inDocs[f] = true
				hint := compatHint(f)
				switch {
				case ours[f] && hint != "":
					t.Errorf("%s is a flag of rawns run, and compat answers it too", f)
				case ours[f]:
				case hint == "":
					t.Errorf("docs/cli.md maps %s (row %q), but rawns run answers it with a bare \"unknown flag\": add it to compat", f, line)
				case len(named) > 0 && !namesAny(hint, named):
					t.Errorf("compat answers %s with %q, which names none of %v, the row's rawns flags (row %q)", f, hint, named, line)
				}
			}
		}
	}
	if rows < 40 {
		t.Fatalf("read %d rows of the table", rows)
	}
	for _, c := range compat {
		for _, f := range c.flags {
			if !inDocs[f] {
				t.Errorf("compat answers %s, which no table of docs/cli.md lists", f)
			}
		}
	}
}

// namesAny reports whether hint names one of flags, as a whole flag.
func namesAny(hint string, flags []string) bool {
	for _, f := range flags {
		if regexp.MustCompile(regexp.QuoteMeta(f) + `($|[^-A-Za-z0-9])`).MatchString(hint) {
			return true
		}
	}
	return false
}
