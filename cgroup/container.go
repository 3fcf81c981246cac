package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// What an OCI container's cgroup needs beyond a run's: it outlives the
// process that made it, so it is found again by its directories (Load);
// it is paused and resumed (Freeze, Thaw), listed (Pids), signalled as a
// whole (Signal) and its limits changed (Update) by later commands.

// Load returns the cgroup whose directories New made (Dirs), as a later
// process finds it: each directory is matched to its hierarchy in the
// calling process's layout. A directory already gone counts as removed.
func Load(name string, dirs []string) (*Cgroup, error) {
	return LoadIn(nil, name, dirs)
}

// LoadIn is Load in a layout read already (nil: read it), for a process
// that made the cgroup and removes it (rawns-oci run): one read and parse
// of /proc/self/mountinfo, not two.
func LoadIn(lay *Layout, name string, dirs []string) (*Cgroup, error) {
	if lay == nil {
		var err error
		if lay, err = ReadLayout(); err != nil {
			return nil, err
		}
	}
	c := &Cgroup{Name: name, layout: lay}
	for _, d := range dirs {
		d = filepath.Clean(d)
		_, err := os.Stat(d)
		created := err == nil
		if h := lay.V2; h != nil && strings.HasPrefix(d, h.Mount+"/") {
			c.v2 = &v2Group{mount: h.Mount, parent: filepath.Dir(d), dir: d, fd: -1, created: created}
			continue
		}
		var hier *Hierarchy
		for _, h := range lay.V1 {
			if strings.HasPrefix(d, h.Mount+"/") {
				hier = h
			}
		}
		if hier == nil {
			return nil, fmt.Errorf("cgroup %s is in no cgroup hierarchy mounted here", d)
		}
		if c.v1 == nil {
			c.v1 = &v1Group{}
		}
		c.v1.members = append(c.v1.members, &v1Member{h: hier, dir: d, ctls: hier.Controllers, created: created})
	}
	if c.v2 != nil {
		// The controllers its limits were written for: those the parent
		// hands down.
		if sub, err := readFile(c.v2.parent, "cgroup.subtree_control"); err == nil {
			c.v2.controllers = strings.Fields(sub)
		}
	}
	return c, nil
}

// Layout is the layout the cgroup was made or loaded in.
func (c *Cgroup) Layout() *Layout { return c.layout }

// Join opens what Start needs to clone a new process into the loaded
// cgroup (the v2 directory's fd for CLONE_INTO_CGROUP): exec's process
// goes into the container's cgroup. Release closes it again.
func (c *Cgroup) Join() error {
	if c.v2 == nil || !c.v2.created || c.v2.fd >= 0 {
		return nil
	}
	fd, err := unix.Open(c.v2.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: c.v2.dir, Err: err}
	}
	c.v2.fd = fd
	return nil
}

// Release closes what the handle holds open, and leaves the cgroup, its
// processes and directories as they are (Close kills and removes).
func (c *Cgroup) Release() {
	if c.v2 != nil && c.v2.fd >= 0 {
		unix.Close(c.v2.fd)
		c.v2.fd = -1
	}
}

// freezer returns the v1 freezer member, if the cgroup has one.
func (c *Cgroup) freezer() *v1Member {
	if c.v1 == nil {
		return nil
	}
	if m := c.v1.member("freezer"); m != nil && m.created {
		return m
	}
	return nil
}

// Freeze stops every process of the cgroup (SIGSTOP cannot be seen, nor
// caught): the v1 freezer where the cgroup has it, else cgroup v2's
// cgroup.freeze (5.2+). It returns once the kernel reports the group
// frozen.
func (c *Cgroup) Freeze() error { return c.setFrozen(true) }

// Thaw resumes a frozen cgroup.
func (c *Cgroup) Thaw() error { return c.setFrozen(false) }

func (c *Cgroup) setFrozen(on bool) error {
	if m := c.freezer(); m != nil {
		want := "THAWED"
		if on {
			want = "FROZEN"
		}
		if err := writeFile(m.dir, "freezer.state", want); err != nil {
			return err
		}
		var got string
		if !waitUntil(10*time.Second, func() bool {
			got, _ = readFile(m.dir, "freezer.state")
			return got == want
		}) {
			return fmt.Errorf("%s: freezer.state is %s 10s after writing %s", m.dir, got, want)
		}
		return nil
	}
	if c.v2 == nil || !c.v2.created {
		return errors.New("the container has no freezer: no v1 freezer hierarchy and no cgroup v2 directory")
	}
	want := int64(0)
	if on {
		want = 1
	}
	if err := writeFile(c.v2.dir, "cgroup.freeze", strconv.FormatInt(want, 10)); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%s has no cgroup.freeze: this kernel's cgroup v2 cannot freeze (Linux 5.2+)", c.v2.dir)
		}
		return err
	}
	if !waitUntil(10*time.Second, func() bool {
		v, ok := keyed(c.v2.dir, "cgroup.events", "frozen")
		return ok && v == want
	}) {
		return fmt.Errorf("%s: cgroup.events does not say frozen %d 10s after cgroup.freeze", c.v2.dir, want)
	}
	return nil
}

// Frozen reports whether the cgroup is frozen (or freezing).
func (c *Cgroup) Frozen() bool {
	if m := c.freezer(); m != nil {
		s, err := readFile(m.dir, "freezer.state")
		return err == nil && s != "THAWED"
	}
	if c.v2 != nil && c.v2.created {
		v, ok := readInt(c.v2.dir, "cgroup.freeze")
		return ok && v == 1
	}
	return false
}

// procDir is the directory whose cgroup.procs lists the cgroup's
// processes: the v2 one, else the first v1 member.
func (c *Cgroup) procDir() string {
	if c.v2 != nil && c.v2.created {
		return c.v2.dir
	}
	if c.v1 != nil {
		for _, m := range c.v1.members {
			if m.created {
				return m.dir
			}
		}
	}
	return ""
}

// Pids lists every process in the cgroup and in the cgroups below it (a
// container may make its own), in the order the kernel lists them.
func (c *Cgroup) Pids() ([]int, error) {
	dir := c.procDir()
	if dir == "" {
		return nil, nil
	}
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // a child cgroup removed meanwhile
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		ps, err := procsOf(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		pids = append(pids, ps...)
		return nil
	})
	return pids, err
}

// Signal sends sig to every process of the cgroup, as runc's kill --all
// does: frozen first where the cgroup can be, so that nothing forks out
// of reach meanwhile, then thawed (a frozen v1 task acts on a signal only
// once thawed). SIGKILL goes through Kill, which waits until the group is
// empty.
func (c *Cgroup) Signal(sig unix.Signal) error {
	if sig == unix.SIGKILL {
		return c.Kill()
	}
	wasFrozen := c.Frozen()
	frozen := !wasFrozen && c.Freeze() == nil
	pids, err := c.Pids()
	for _, p := range pids {
		if e := unix.Kill(p, sig); e != nil && e != unix.ESRCH && err == nil {
			err = fmt.Errorf("kill %d: %w", p, e)
		}
	}
	if frozen {
		if e := c.Thaw(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Update writes new limits into the cgroup, as New wrote them: a limit
// for a controller the cgroup did not join at New is an error naming it.
func (c *Cgroup) Update(r Resources) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if len(r.Devices) > 0 {
		return fieldErr(FieldDevices, "device rules cannot be changed after the container is created")
	}
	need, _ := wanted(&r, false)
	for ctl, field := range need {
		if c.v1 != nil && c.v1.member(ctl) != nil {
			continue
		}
		if c.v2 != nil && c.v2.created && c.layout.V1[ctl] == nil {
			// cgroup v2: hand the controller down now (no process moves).
			if !has(c.v2.controllers, ctl) {
				if err := c.v2.enable(c.v2.parent, ctl, field); err != nil {
					return err
				}
				c.v2.controllers = append(c.v2.controllers, ctl)
			}
			continue
		}
		return fieldErr(field, "the container's cgroup is in no %s hierarchy: a cgroup v1 controller is joined at create only when a limit asks for it (joining later would move every process of the container); give the limit at create", ctl)
	}
	if c.v2 != nil && c.v2.created {
		if err := c.v2.limit(&r); err != nil {
			return err
		}
	}
	if c.v1 != nil {
		for _, m := range c.v1.members {
			if !m.created {
				continue
			}
			for _, ctl := range m.ctls {
				if err := c.v1.limit(m, ctl, &r); err != nil {
					return err
				}
			}
		}
		if m := c.v1.member("pids"); m != nil && r.Pids.Limit != 0 {
			// limit writes one more for the cloning thread (enter);
			// nothing clones into it now.
			if err := writeFile(m.dir, "pids.max", strconv.FormatInt(r.Pids.Limit, 10)); err != nil {
				return &Error{Field: FieldPidsLimit, Err: err}
			}
		}
	}
	c.res = r
	return nil
}

// FreezeFile is the file whose content tells whether the cgroup is frozen,
// for a reader that does not load the cgroup: the v1 freezer's
// freezer.state (FROZEN, FREEZING, THAWED), else cgroup v2's
// cgroup.freeze (1, 0); "" when the cgroup can be frozen neither way.
func (c *Cgroup) FreezeFile() string {
	if m := c.freezer(); m != nil {
		return filepath.Join(m.dir, "freezer.state")
	}
	if c.v2 != nil && c.v2.created {
		return filepath.Join(c.v2.dir, "cgroup.freeze")
	}
	return ""
}
