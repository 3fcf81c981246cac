package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// CleanStale removes the cgroups that runs whose rawns is gone left under
// the parent opts.Parent names (in every hierarchy): what a rawns killed
// with SIGKILL, before its Close, leaves behind. A cgroup is stale when the
// process named in it (rawns-PID-START-SEQ) no longer exists with that
// start time; whatever still runs inside is killed first (orphans that
// PR_SET_PDEATHSIG did not reach: it kills only the direct child). Live
// runs' cgroups, and directories not named by rawns, are left alone. It
// returns the names removed. Every Close runs it for its own parent; `rawns
// cgroup-clean` runs it on demand.
func CleanStale(opts Options) ([]string, error) {
	lay := opts.Layout
	if lay == nil {
		var err error
		if lay, err = ReadLayout(); err != nil {
			return nil, err
		}
	}
	c := &Cgroup{layout: lay, parent: opts.Parent}
	return c.cleanStale()
}

func (c *Cgroup) cleanStale() ([]string, error) {
	// Every hierarchy a run may have used, once each.
	type hier struct {
		h   *Hierarchy
		ctl string
	}
	var hs []hier
	seen := map[*Hierarchy]bool{}
	if c.layout.V2 != nil {
		hs = append(hs, hier{c.layout.V2, ""})
	}
	ctls := make([]string, 0, len(c.layout.V1))
	for ctl := range c.layout.V1 {
		ctls = append(ctls, ctl)
	}
	sort.Strings(ctls)
	for _, ctl := range ctls {
		h := c.layout.V1[ctl]
		if !seen[h] && (ctl == "memory" || ctl == "pids" || ctl == "cpu" || ctl == "cpuacct" || ctl == "cpuset" || ctl == "freezer") {
			seen[h] = true
			hs = append(hs, hier{h, ctl})
		}
	}
	stale := map[string]*Cgroup{}
	var names []string
	var errs []error
	for _, x := range hs {
		parent, err := c.parentDir(x.h)
		if err != nil {
			return nil, err
		}
		ents, err := os.ReadDir(parent)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if !e.IsDir() || name == c.Name || !ownerGone(name) {
				continue
			}
			s := stale[name]
			if s == nil {
				s = &Cgroup{Name: name, layout: c.layout}
				stale[name] = s
				names = append(names, name)
			}
			dir := filepath.Join(parent, name)
			if x.h.Version == 2 {
				s.v2 = &v2Group{mount: x.h.Mount, parent: parent, dir: dir, fd: -1, created: true}
				continue
			}
			if s.v1 == nil {
				s.v1 = &v1Group{}
			}
			m := &v1Member{h: x.h, dir: dir, ctls: x.h.Controllers, created: true}
			s.v1.members = append(s.v1.members, m)
		}
	}
	for _, name := range names {
		s := stale[name]
		if err := s.Kill(); err != nil {
			errs = append(errs, err)
		}
		for _, b := range s.backends() {
			if err := b.remove(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return names, errors.Join(errs...)
}

// ownerGone reports whether name is a rawns run's cgroup whose creator no
// longer lives.
func ownerGone(name string) bool {
	rest, ok := strings.CutPrefix(name, "rawns-")
	if !ok {
		return false
	}
	f := strings.Split(rest, "-")
	if len(f) != 3 {
		return false
	}
	for _, x := range f {
		if _, err := strconv.ParseUint(x, 10, 64); err != nil {
			return false
		}
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false
	}
	start, err := procStart(pid)
	return err != nil || start != f[1]
}
