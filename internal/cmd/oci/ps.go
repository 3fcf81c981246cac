package oci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/rawns/rawns/internal/cli"
)

var psVerb = verb{
	name:  "ps",
	usage: "list a container's processes (host pids; --format json)",
	run:   runPs,
}

// runPs is runc's ps: with --format json, the host pids of the
// container's processes as a JSON array (what containerd's shim reads);
// with table, the host's ps(1) output (ps -ef, or the arguments after
// the id) cut to the container's processes.
func runPs(g *globals, args []string) error {
	flags, rest, err := parse("ps", []cli.Def{{Name: "format", Short: "f", Kind: cli.String}}, args, -1, "")
	if err != nil {
		return err
	}
	if len(rest) < 1 {
		return errorf("ps: takes ID [PS-ARGS...]")
	}
	format := flags.Get("format", "table")
	if format != "table" && format != "json" {
		return fmt.Errorf("ps --format %s: use table or json", cli.Quote(format))
	}
	c, err := g.load(rest[0], false)
	if err != nil {
		return err
	}
	pids, err := c.Pids()
	c.Release()
	if err != nil {
		return err
	}
	if format == "json" {
		if pids == nil {
			pids = []int{}
		}
		data, _ := json.Marshal(pids)
		fmt.Fprintf(g.stdout, "%s\n", data)
		return nil
	}
	psArgs := rest[1:]
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %v", strings.Join(psArgs, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return fmt.Errorf("ps %s: no PID column in its output; give arguments that show one", strings.Join(psArgs, " "))
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		if p, err := strconv.Atoi(f[col]); err == nil && slices.Contains(pids, p) {
			b.WriteString(l + "\n")
		}
	}
	_, err = g.stdout.Write(b.Bytes())
	return err
}
