package oci

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/cli"
)

var listVerb = verb{
	name:  "list",
	usage: "list the containers of the state root",
	run:   runList,
}

func runList(g *globals, args []string) error {
	flags, _, err := parse("list", []cli.Def{{Name: "format", Short: "f", Kind: cli.String}, {Name: "quiet", Short: "q", Kind: cli.Bool}}, args, 0, "no arguments")
	if err != nil {
		return err
	}
	format := flags.Get("format", "table")
	if format != "table" && format != "json" {
		return fmt.Errorf("list --format %s: use table or json", cli.Quote(format))
	}
	st := g.store()
	ids, err := st.List()
	if err != nil {
		return err
	}
	var states []container.OCIState
	for _, id := range ids {
		c, err := st.Load(id, false)
		if err != nil {
			continue // deleted meanwhile
		}
		s := c.OCIState()
		if s.Owner == "" {
			s.Owner = owner(c.Dir)
		}
		states = append(states, s)
		c.Release()
	}
	switch {
	case flags.Has("quiet"):
		for _, s := range states {
			fmt.Fprintln(g.stdout, s.ID)
		}
	case format == "json":
		if states == nil {
			states = []container.OCIState{}
		}
		data, err := json.Marshal(states)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s\n", data)
	default:
		w := tabwriter.NewWriter(g.stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, s := range states {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
		}
		return w.Flush()
	}
	return nil
}

// owner names the user who owns dir, as runc's list shows it.
func owner(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "#" + uid
}
