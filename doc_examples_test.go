package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

// docTestMarker, on the line right before a ```console block of README.md
// or docs/*.md, makes TestDocExamples run the block. It is an HTML comment:
// the rendered page does not show it.
const docTestMarker = "<!-- doc-test -->"

// docPrelude stands in for what a reader has and the test machine need
// not: `rawns` is the binary under test (a shell function: the PATH the
// command sees stays the usual one, which rawns's messages print), `sudo`
// runs its command (the test is root), and `make rootfs` has been done (the
// block's directory holds bin/rootfs). Nothing else of make is run.
const docPrelude = `rawns() { "$RAWNS_DOCTEST_BIN" "$@"; }
sudo() { "$@"; }
make() { [ "$*" = rootfs ] && return 0; echo "doc test: only 'make rootfs' is stood in for, not 'make $*'" >&2; return 127; }
`

// asUser is the comment that runs a command as nobody, by setpriv(1).
const asUser = "# as an ordinary user"

// docCommand is one command of a block: the line after its prompt ("$ "
// or "# "), continuation lines joined, and the output the page shows.
type docCommand struct {
	line int
	cmd  string
	want []string
}

type docBlock struct {
	file string
	line int
	cmds []docCommand
}

// docBlocks reads the marked blocks of README.md and docs/*.md.
func docBlocks(t *testing.T) []docBlock {
	files, _ := filepath.Glob("docs/*.md")
	files = append([]string{"README.md"}, files...)
	var blocks []docBlock
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			if strings.TrimSpace(lines[i]) != docTestMarker {
				continue
			}
			if i+1 >= len(lines) || lines[i+1] != "```console" {
				t.Errorf("%s:%d: %s must stand right before a ```console block", f, i+1, docTestMarker)
				continue
			}
			blk := docBlock{file: f, line: i + 2}
			j := i + 2
			for ; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
				l := lines[j]
				switch {
				case strings.HasPrefix(l, "$ ") || strings.HasPrefix(l, "# "):
					c := docCommand{line: j + 1, cmd: l[2:]}
					for strings.HasSuffix(c.cmd, "\\") && j+1 < len(lines) {
						j++
						c.cmd += "\n" + lines[j]
					}
					blk.cmds = append(blk.cmds, c)
				case len(blk.cmds) == 0:
					t.Errorf("%s:%d: output before any command", f, j+1)
				default:
					last := &blk.cmds[len(blk.cmds)-1]
					last.want = append(last.want, l)
				}
			}
			if j == len(lines) {
				t.Errorf("%s:%d: the block does not end", f, i+2)
			}
			blocks = append(blocks, blk)
			i = j
		}
	}
	return blocks
}

// matchLine reports whether got is what the page shows as want, where
// "..." in want stands for any text (the page elides a PATH, a pid).
func matchLine(want, got string) bool {
	parts := strings.Split(want, "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

// TestDocExamples runs the ```console blocks of README.md and docs/*.md
// marked with docTestMarker, each in one shell, as root, in a directory of
// its own holding bin/rootfs and R (a busybox root filesystem), and checks
// that each command prints what the page shows after it (stdout and stderr
// together, "..." matching any text), so that the docs cannot drift from
// what rawns does (issue 25: several had). A command whose line ends in
// asUser runs as uid 65534. The host is left as it was.
//
// Left unmarked, and why: blocks that need a terminal and keys (Ctrl-C),
// a network or an image (podman pull), a machine's CPU count, or that run
// the test suite or benchmarks themselves.
func TestDocExamples(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	blocks := docBlocks(t)
	if len(blocks) < 5 {
		t.Fatalf("only %d marked blocks found: the marker or the parser broke", len(blocks))
	}
	for _, blk := range blocks {
		t.Run(fmt.Sprintf("%s:%d", blk.file, blk.line), func(t *testing.T) {
			dir := t.TempDir()
			// For the commands run as nobody: t.TempDir's parent is 0700.
			os.Chmod(dir, 0o755)
			os.Chmod(filepath.Dir(dir), 0o755)
			os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
			// Directories, not links: rawns names a root by its real
			// path, as a user's would be.
			for _, l := range []string{"bin/rootfs", "R"} {
				if err := os.Rename(testutil.BusyboxRoot(t), filepath.Join(dir, l)); err != nil {
					t.Fatal(err)
				}
			}
			var script strings.Builder
			script.WriteString(docPrelude)
			for i, c := range blk.cmds {
				// A separator before each command, keeping $? for an
				// `echo $?` that follows a command.
				fmt.Fprintf(&script, "__s=$?; printf '\\036%d\\n'; (exit $__s)\n", i)
				if strings.HasSuffix(strings.TrimSpace(c.cmd), asUser) {
					f := filepath.Join(dir, "cmd"+strconv.Itoa(i)+".sh")
					os.WriteFile(f, []byte(docPrelude+c.cmd+"\n"), 0o644)
					fmt.Fprintf(&script, "setpriv --reuid=65534 --regid=65534 --clear-groups sh %s\n", f)
					continue
				}
				script.WriteString(c.cmd + "\n")
			}
			cmd := exec.Command("sh", "-c", script.String())
			cmd.Dir = dir
			cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir, "RAWNS_DOCTEST_BIN=" + rawnsBin}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
				<-done
				t.Fatalf("the block did not end within 2 minutes; output so far:\n%s", out.String())
			}
			got := splitDocOutput(out.String(), len(blk.cmds))
			for i, c := range blk.cmds {
				if !matchLines(c.want, got[i]) {
					t.Errorf("%s:%d: $ %s\nthe page shows:\n%s\nthe command printed:\n%s", blk.file, c.line, c.cmd, strings.Join(c.want, "\n"), strings.Join(got[i], "\n"))
				}
			}
		})
	}
}

func matchLines(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if !matchLine(want[i], got[i]) {
			return false
		}
	}
	return true
}

// splitDocOutput cuts the block's output at the separators into each
// command's lines.
func splitDocOutput(s string, n int) [][]string {
	got := make([][]string, n)
	cur := -1
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "\036") {
			if i, err := strconv.Atoi(l[1:]); err == nil && i < n {
				cur = i
				continue
			}
		}
		if cur >= 0 {
			got[cur] = append(got[cur], l)
		}
	}
	return got
}

// TestDocMatchLine: the wildcard stands for any text, and only there.
func TestDocMatchLine(t *testing.T) {
	for _, c := range []struct {
		want, got string
		ok        bool
	}{
		{"pid 1 on container", "pid 1 on container", true},
		{"pid 1 on container", "pid 2 on container", false},
		{"in PATH /usr/local/sbin:...; give", "in PATH /usr/local/sbin:/bin; give", true},
		{"a (b) [c] ...", "a (b) [c] ", true},
		{"a.b", "axb", false},
	} {
		if matchLine(c.want, c.got) != c.ok {
			t.Errorf("matchLine(%q, %q) = %v", c.want, c.got, !c.ok)
		}
	}
}
