package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rawns/rawns/internal/testutil"
)

// TestStatusFDTellsRawnsFromCommand: 125 is rawns's failure and also any
// command's own exit code, as in docker. --json-status-fd tells them apart:
// a command that exits 125 gets {"exit-code":125} after the info object;
// a rawns failure (here in the child before exec, and an exec that finds
// nothing) gets a last line with "error", rawns's own message (issue 25).
func TestStatusFDTellsRawnsFromCommand(t *testing.T) {
	testutil.RequireRoot(t)
	for _, c := range []struct {
		args      []string
		code      int
		lines     int
		errPrefix string // "" for the command's own exit line
	}{
		{[]string{"--", "sh", "-c", "exit 125"}, 125, 2, ""},
		{[]string{"--chdir", "/nonexistent-dir", "--", "true"}, 125, 1, "--chdir /nonexistent-dir: "},
		{[]string{"--", "/nonexistent-cmd"}, 127, 1, "cannot execute /nonexistent-cmd: "},
	} {
		r, w, _ := os.Pipe()
		cmd := exec.Command(rawnsBin, append([]string{"run", "--json-status-fd", "3"}, c.args...)...)
		cmd.ExtraFiles = []*os.File{w}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		w.Close()
		b, _ := io.ReadAll(r)
		r.Close()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		var last map[string]any
		if json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil {
			t.Errorf("%q: the last line %q is not JSON", c.args, lines[len(lines)-1])
			continue
		}
		msg, hasErr := last["error"].(string)
		if code != c.code || len(lines) != c.lines || last["exit-code"] != float64(c.code) || hasErr != (c.errPrefix != "") ||
			hasErr && (!strings.HasPrefix(msg, c.errPrefix) || "rawns run: "+msg+"\n" != stderr.String()) {
			t.Errorf("%q: exit %d, --json-status-fd wrote %q, stderr %q; want exit %d, %d lines, the last with error %q...", c.args, code, b, stderr.String(), c.code, c.lines, c.errPrefix)
		}
	}
}
