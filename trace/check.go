package trace

import (
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/security"
)

// Two more statuses, for the proof's properties (Verify's PropResult):
const (
	// StatusSeen: the run did not ask for this property; the kernel's
	// value is reported, not judged.
	StatusSeen Status = "seen"
	// StatusUnreadable: the run asked for it, but this kernel does not let
	// the exec program read it (a field or helper it lacks). Not a
	// mismatch: nothing was compared, and no value is made up.
	StatusUnreadable Status = "UNREADABLE"
)

// unreadable is the Why of StatusUnreadable.
const unreadable = "not readable on this kernel"

// ProofExpect is what a run asked for besides namespaces: each field left
// nil (or empty) is not judged, only reported as seen.
type ProofExpect struct {
	Root       *RootExpect
	Cgroups    []CgroupExpect
	Cred       *CredExpect
	Caps       *CapsExpect
	Seccomp    *SeccompExpect
	NoNewPrivs *bool
	Rlimits    []clone.Rlimit
}

// RootExpect is the --rootfs directory, as the host sees it before the
// clone.
type RootExpect struct {
	Dir string
	// Dev and Ino are stat(2)'s st_dev and st_ino of Dir (st_dev in
	// glibc's encoding, not the kernel's s_dev).
	Dev, Ino uint64
	// Overlay: the root is an overlayfs mounted over Dir for the run
	// (--overlay), a superblock of its own: its type must be overlay and
	// its device not Dir's.
	Overlay bool
}

// CgroupExpect is one directory of the run's cgroup.
type CgroupExpect struct {
	// Controllers are the v1 controllers of the hierarchy the directory is
	// in; nil for cgroup2, where Limited names the controllers the run
	// limits through it.
	Controllers []string
	Limited     []string
	Dir         string
	Ino         uint64 // stat(2)'s st_ino of Dir: the kernfs node id
}

// CredExpect is the identity asked for, as the initial user namespace
// sees it (a uid inside a new user namespace mapped through its uid_map).
type CredExpect struct {
	UID, GID uint32
	// Groups are the supplementary groups set; nil when they were left
	// alone.
	Groups []uint32
}

// CapsExpect is what the child set right before execve: Sets (capset,
// the bounding set, the ambient set), and what execve does with them
// (capabilities(7), "Transformation of capabilities during execve()"):
// Root when the command's real or effective uid is 0 in its user
// namespace, EffRoot when the effective one is, NoNewPrivs when
// no_new_privs is set.
type CapsExpect struct {
	Sets          clone.Capabilities
	Root, EffRoot bool
	NoNewPrivs    bool
}

// SeccompExpect: a filter installed for the run. Filters is the count the
// command must have: rawns's own (inherited) plus one; -1 when rawns
// could not read its own.
type SeccompExpect struct {
	Filters int32
}

// AfterExec returns the sets the command holds after execve of a program
// without set-ID bits or file capabilities, by the kernel's rules
// (cap_bprm_creds_from_file in security/commoncap.c): such a file has
// empty file sets, except that for root (uid 0 in the user namespace,
// unless securebits has SECBIT_NOROOT) they count as full, so
//
//	P' = (root ? bounding|inheritable : 0), limited to P under no_new_privs,
//	     then | ambient
//	E' = (effective root ? P' : ambient)
//	I', bounding, ambient unchanged
//
// A program with set-ID bits or file capabilities changes them further;
// rawns asks for the sets a plain program gets, so there it reports the
// difference.
func (c *CapsExpect) AfterExec(securebits uint32) CapSets {
	s := c.Sets
	root := c.Root && securebits&1 == 0 // SECBIT_NOROOT
	var prm uint64
	if root {
		prm = s.Bounding | s.Inheritable
	}
	if c.NoNewPrivs && prm&^s.Permitted != 0 {
		prm &= s.Permitted
	}
	prm |= s.Ambient
	eff := s.Ambient
	if root && c.EffRoot {
		eff = prm
	}
	return CapSets{Inheritable: s.Inheritable, Permitted: prm, Effective: eff, Bounding: s.Bounding, Ambient: s.Ambient}
}

// PropResult is the verdict on one property of the proof.
type PropResult struct {
	Name   string // "root", "cgroup2", "cgroup memory", "uid", "cap effective", "rlimit nofile", ...
	Want   string // what was asked; "" when not judged
	Got    string // what the kernel held at exec
	Status Status // OK, MISMATCH, seen, UNREADABLE
	Why    string // when not OK: what differs, or "not readable on this kernel"
}

// judgeProof compares the kernel's proof with want, property by property.
func judgeProof(p *Proof, mntNS NSID, want *ProofExpect) []PropResult {
	var out []PropResult
	add := func(r PropResult) { out = append(out, r) }
	// prop adds a judged property when asked is true, else a seen one;
	// have is the group it needs.
	prop := func(name string, have ProofSet, asked bool, want, got string, ok bool, why string) {
		r := PropResult{Name: name, Got: got}
		switch {
		case !p.Has(have):
			r.Got = ""
			r.Status, r.Why = StatusSeen, unreadable
			if asked {
				r.Want, r.Status = want, StatusUnreadable
			}
		case !asked:
			r.Status = StatusSeen
		case ok:
			r.Want, r.Status = want, StatusOK
		default:
			r.Want, r.Status, r.Why = want, StatusMismatch, why
		}
		add(r)
	}

	// root
	{
		r := want.Root
		got := p.Root.String()
		w, ok, why := "", true, ""
		if r != nil {
			var fails []string
			if p.Root.Flags&RootMountRoot == 0 {
				fails = append(fails, "the root is not its mount's root (a chroot, not a pivot_root)")
			}
			if !mntNS.Zero() && !p.Root.MntNS.Same(mntNS) {
				fails = append(fails, "the root's mount is not in the command's mount namespace "+mntNS.String())
			}
			major, minor := unix.Major(r.Dev), unix.Minor(r.Dev) // stat's encoding
			if r.Overlay {
				w = "an overlayfs over " + r.Dir
				if p.Root.FSType != "overlay" {
					fails = append(fails, "the root is "+strconv.Quote(p.Root.FSType)+", not an overlay")
				}
				if p.Root.Major() == major && p.Root.Minor() == minor {
					fails = append(fails, "the root is on "+r.Dir+"'s device, not an overlay of its own")
				}
			} else {
				w = r.Dir + " (dev " + utoa(uint64(major)) + ":" + utoa(uint64(minor)) + ", inode " + utoa(r.Ino) + ")"
				if p.Root.Major() != major || p.Root.Minor() != minor || p.Root.Ino != r.Ino {
					fails = append(fails, "the root is not "+r.Dir)
				}
			}
			ok, why = len(fails) == 0, strings.Join(fails, "; ")
		}
		prop("root", HaveRoot, r != nil, w, got, ok, why)
	}

	// cgroups
	asked := map[int]*CgroupExpect{} // V1* -> the directory that limits it
	var v2 *CgroupExpect
	for i := range want.Cgroups {
		c := &want.Cgroups[i]
		if c.Controllers == nil {
			v2 = c
			for _, l := range c.Limited {
				if j := slices.Index(V1Names[:], l); j >= 0 {
					asked[j] = c
				}
			}
			continue
		}
		for _, l := range c.Controllers {
			if j := slices.Index(V1Names[:], l); j >= 0 {
				asked[j] = c
			}
		}
	}
	{
		w, ok := "", false
		if v2 != nil {
			w, ok = v2.Dir+" (inode "+utoa(v2.Ino)+")", p.CgroupV2 == v2.Ino
		}
		prop("cgroup2", HaveCgroup, v2 != nil, w, utoa(p.CgroupV2), ok, "the command is in another cgroup2 cgroup")
	}
	for c := range NumV1 {
		e := asked[c]
		w, ok := "", false
		if e != nil {
			w, ok = e.Dir+" (inode "+utoa(e.Ino)+")", p.CgroupV1[c] == e.Ino
		}
		prop("cgroup "+V1Names[c], HaveCgroupV1<<c, e != nil, w, utoa(p.CgroupV1[c]), ok, "the command is in another "+V1Names[c]+" cgroup")
	}

	// credentials
	{
		c := want.Cred
		for i, name := range []string{"uid", "gid"} {
			ids := p.UID
			if i == 1 {
				ids = p.GID
			}
			got := "real " + utoa(uint64(ids[0])) + ", effective " + utoa(uint64(ids[1])) + ", saved " + utoa(uint64(ids[2])) + ", fs " + utoa(uint64(ids[3]))
			w, ok := "", false
			if c != nil {
				v := c.UID
				if i == 1 {
					v = c.GID
				}
				w, ok = utoa(uint64(v)), ids == [4]uint32{v, v, v, v}
			}
			prop(name, HaveCred, c != nil, w, got, ok, name+"s differ"+p.setIDHint())
		}
		got := groupsString(p.GroupList(), int(p.NGroups))
		w, ok := "", false
		if c != nil && c.Groups != nil {
			g := slices.Clone(c.Groups)
			slices.Sort(g)
			g = slices.Compact(g)
			w = groupsString(g, len(g))
			ok = int(p.NGroups) == len(g) && slices.Equal(p.GroupList(), g[:min(len(g), MaxGroups)])
		}
		prop("groups", HaveGroups, c != nil && c.Groups != nil, w, got, ok, "other supplementary groups")
		prop("securebits", HaveCred, false, "", "0x"+strconv.FormatUint(uint64(p.Securebits), 16), true, "")
	}

	// capabilities
	{
		c := want.Caps
		var after CapSets
		if c != nil {
			after = c.AfterExec(p.Securebits)
		}
		got, wl := p.Caps.list(), after.list()
		for i, name := range capSetNames {
			why := "the kernel holds " + security.CapSet(got[i]&^wl[i]).String() + " more, " + security.CapSet(wl[i]&^got[i]).String() + " fewer"
			why = strings.ReplaceAll(strings.ReplaceAll(why, " holds  more,", " holds"), ",  fewer", "")
			why += p.setIDHint()
			prop("cap "+name, HaveCaps, c != nil, CapString(wl[i]), CapString(got[i]), got[i] == wl[i], why)
		}
	}

	// seccomp and no_new_privs
	{
		s := want.Seccomp
		got := seccompModeString(p.SeccompMode)
		if p.Has(HaveSeccompN) {
			got += ", " + itoa(int(p.SeccompFilters)) + " filter(s)"
		}
		w, ok, why := "", false, ""
		if s != nil {
			w, ok = "filter", p.SeccompMode == 2
			if !ok {
				why = "no seccomp filter"
			}
			if s.Filters >= 0 && p.Has(HaveSeccompN) {
				w += ", " + itoa(int(s.Filters)) + " filter(s)"
				if p.SeccompFilters != s.Filters {
					ok, why = false, "rawns's own filters and the run's would be "+itoa(int(s.Filters))
				}
			}
		}
		prop("seccomp", HaveSeccomp, s != nil, w, got, ok, why)
		n := want.NoNewPrivs
		w = ""
		if n != nil {
			w = boolDigit(*n)
		}
		prop("no_new_privs", HaveNNP, n != nil, w, boolDigit(p.NoNewPrivs), n != nil && *n == p.NoNewPrivs, "no_new_privs differs")
	}

	// rlimits: the ones asked for, then the others as seen
	{
		var set [NumRlimits]*clone.Rlimit
		for i := range want.Rlimits {
			r := &want.Rlimits[i]
			if r.Resource >= 0 && r.Resource < NumRlimits {
				set[r.Resource] = r
			}
		}
		for res, l := range p.Rlimits {
			r := set[res]
			w, ok := "", false
			if r != nil {
				w, ok = rlimitString(RlimitValue{Cur: r.Cur, Max: r.Max}), l.Cur == r.Cur && l.Max == r.Max
			}
			prop("rlimit "+security.RlimitName(res), HaveRlimits, r != nil, w, rlimitString(l), ok, "other limits")
		}
	}

	// the file executed: seen, always
	prop("file", HaveFile, false, "", p.File.String(), true, "")
	return out
}

func rlimitString(r RlimitValue) string { return RlimitString(r.Cur) + ":" + RlimitString(r.Max) }

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func seccompModeString(m int32) string {
	switch m {
	case 0:
		return "disabled"
	case 1:
		return "strict"
	case 2:
		return "filter"
	}
	return "mode " + itoa(int(m))
}

func groupsString(g []uint32, n int) string {
	if n == 0 {
		return "none"
	}
	var b []byte
	b = appendList32(b, g)
	if n > len(g) {
		b = append(b, ",... ("+itoa(n)+" in all)"...)
	}
	return string(b)
}

// setIDHint explains a credential or capability mismatch that the file
// executed caused.
func (p *Proof) setIDHint() string {
	if !p.Has(HaveFile) {
		return ""
	}
	switch m := p.File.Mode; {
	case m&0o4000 != 0 && p.File.MntFlags&MntNoSuid == 0:
		return " (the program is set-user-ID " + utoa(uint64(p.File.UID)) + ")"
	case m&0o2010 == 0o2010 && p.File.MntFlags&MntNoSuid == 0:
		return " (the program is set-group-ID " + utoa(uint64(p.File.GID)) + ")"
	}
	return " (does the program carry file capabilities? getcap FILE)"
}

// String shows the root as "mount 251 (ext4 254:1, inode 9981357, the
// mount's root) in mnt 4026532451/5420".
func (r RootView) String() string {
	s := "mount " + strconv.FormatInt(int64(r.MountID), 10) + " (" + r.FSType + " " + utoa(uint64(r.Major())) + ":" + utoa(uint64(r.Minor())) + ", inode " + utoa(r.Ino)
	if r.Flags&RootMountRoot != 0 {
		s += ", the mount's root"
	} else {
		s += ", not the mount's root"
	}
	return s + ") in mnt " + r.MntNS.String()
}

// String shows the file as "mode 104755, owner 0:0, set-user-ID, on a
// nosuid mount".
func (f ExecFile) String() string {
	s := "mode " + strconv.FormatUint(uint64(f.Mode), 8) + ", owner " + utoa(uint64(f.UID)) + ":" + utoa(uint64(f.GID))
	if f.Mode&0o4000 != 0 {
		s += ", set-user-ID"
	}
	if f.Mode&0o2010 == 0o2010 {
		s += ", set-group-ID"
	}
	if f.MntFlags&MntNoSuid != 0 {
		s += ", on a nosuid mount"
	}
	return s
}

// writeProps writes one line per property after the namespace table:
//
//	uid                want 1000, kernel real 1000, effective 1000, saved 1000, fs 1000: OK
//	securebits         kernel 0x0 (not asked: seen)
//
// The rlimits the run did not set share one line.
func writeProps(b *strings.Builder, props []PropResult) {
	var seenLimits []string
	for _, p := range props {
		if strings.HasPrefix(p.Name, "rlimit ") && p.Status == StatusSeen && p.Why == "" {
			if p.Got != "unlimited:unlimited" {
				seenLimits = append(seenLimits, strings.TrimPrefix(p.Name, "rlimit ")+" "+p.Got)
			}
			continue
		}
		b.WriteString(propLine(p))
		b.WriteByte('\n')
	}
	if len(seenLimits) > 0 {
		b.WriteString(pad("rlimits") + "kernel " + strings.Join(seenLimits, ", ") + ", the others unlimited (not asked: seen)\n")
	}
}

func pad(s string) string {
	if len(s) < 18 {
		s += strings.Repeat(" ", 18-len(s))
	}
	return s + " "
}

func propLine(p PropResult) string {
	switch p.Status {
	case StatusSeen:
		if p.Why != "" {
			return pad(p.Name) + p.Why + " (not asked: seen)"
		}
		return pad(p.Name) + "kernel " + p.Got + " (not asked: seen)"
	case StatusUnreadable:
		return pad(p.Name) + "want " + p.Want + ": " + p.Why
	}
	s := pad(p.Name) + "want " + p.Want + ", kernel " + p.Got + ": " + string(p.Status)
	if p.Why != "" {
		s += " (" + p.Why + ")"
	}
	return s
}

// appendProps appends the properties as a JSON array of objects.
func appendProps(b []byte, props []PropResult) []byte {
	b = append(b, '[')
	for i, p := range props {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, p.Name)
		if p.Want != "" {
			b = append(b, `,"want":`...)
			b = appendJSONString(b, p.Want)
		}
		if p.Got != "" {
			b = append(b, `,"kernel":`...)
			b = appendJSONString(b, p.Got)
		}
		b = append(b, `,"status":`...)
		b = appendJSONString(b, string(p.Status))
		if p.Why != "" {
			b = append(b, `,"why":`...)
			b = appendJSONString(b, p.Why)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// AppendJSON appends the proof as one JSON object with the kernel's
// values; a group this kernel did not let the program read is left out
// and named in "unreadable":
//
//	{"root":{"mount-id":251,"dev":"254:1","inode":9981357,"mount-root":true,
//	 "mnt-ns":{"inode":4026532451,"id":5420},"fs":"ext4"},
//	 "cgroup2":44561,"cgroup1":{"cpuset":1,"cpu":1,"memory":84878,"pids":21707},
//	 "uid":[1000,1000,1000,1000],"gid":[...],"securebits":0,"ngroups":3,"groups":[5,27,1000],
//	 "caps":{"inheritable":"0000000000000400",...,"ambient":"..."},
//	 "seccomp":2,"seccomp-filters":1,"no-new-privs":true,
//	 "rlimits":{"cpu":[-1,-1],...,"nofile":[123,456],...},
//	 "file":{"mode":"100755","uid":0,"gid":0,"nosuid":false},
//	 "unreadable":[]}
//
// uid and gid are [real, effective, saved, fs]; an rlimit of -1 is
// unlimited (RLIM_INFINITY); caps are /proc/PID/status's hex.
func (p *Proof) AppendJSON(b []byte) []byte {
	var missing []string
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
	}
	u := func(v uint64) { b = strconv.AppendUint(b, v, 10) }
	list := func(l []uint32) {
		b = append(b, '[')
		b = appendList32(b, l)
		b = append(b, ']')
	}
	b = append(b, '{')
	if p.Has(HaveRoot) {
		key("root")
		b = append(b, `{"mount-id":`...)
		b = strconv.AppendInt(b, int64(p.Root.MountID), 10)
		b = append(b, `,"dev":"`...)
		u(uint64(p.Root.Major()))
		b = append(b, ':')
		u(uint64(p.Root.Minor()))
		b = append(b, `","inode":`...)
		u(p.Root.Ino)
		b = append(b, `,"mount-root":`...)
		b = strconv.AppendBool(b, p.Root.Flags&RootMountRoot != 0)
		b = append(b, `,"mnt-ns":{"inode":`...)
		u(p.Root.MntNS.Inode)
		b = appendOptUint(b, `,"id":`, p.Root.MntNS.ID)
		b = append(b, `},"fs":`...)
		b = appendJSONString(b, p.Root.FSType)
		b = append(b, '}')
	} else {
		missing = append(missing, "root")
	}
	if p.Has(HaveCgroup) {
		key("cgroup2")
		u(p.CgroupV2)
	} else {
		missing = append(missing, "cgroup2")
	}
	key("cgroup1")
	b = append(b, '{')
	n := 0
	for c := range NumV1 {
		if !p.Has(HaveCgroupV1 << c) {
			missing = append(missing, "cgroup1 "+V1Names[c])
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendJSONString(b, V1Names[c])
		b = append(b, ':')
		u(p.CgroupV1[c])
	}
	b = append(b, '}')
	if p.Has(HaveCred) {
		key("uid")
		list(p.UID[:])
		key("gid")
		list(p.GID[:])
		key("securebits")
		u(uint64(p.Securebits))
	} else {
		missing = append(missing, "uid", "gid", "securebits")
	}
	if p.Has(HaveGroups) {
		key("ngroups")
		u(uint64(max(p.NGroups, 0)))
		key("groups")
		list(p.GroupList())
	} else {
		missing = append(missing, "groups")
	}
	if p.Has(HaveCaps) {
		key("caps")
		b = append(b, '{')
		for i, v := range p.Caps.list() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, capSetNames[i])
			b = append(b, ':')
			b = appendJSONString(b, CapString(v)[:16])
		}
		b = append(b, '}')
	} else {
		missing = append(missing, "caps")
	}
	if p.Has(HaveSeccomp) {
		key("seccomp")
		b = strconv.AppendInt(b, int64(p.SeccompMode), 10)
	} else {
		missing = append(missing, "seccomp")
	}
	if p.Has(HaveSeccompN) {
		key("seccomp-filters")
		b = strconv.AppendInt(b, int64(p.SeccompFilters), 10)
	} else {
		missing = append(missing, "seccomp-filters")
	}
	if p.Has(HaveNNP) {
		key("no-new-privs")
		b = strconv.AppendBool(b, p.NoNewPrivs)
	} else {
		missing = append(missing, "no-new-privs")
	}
	if p.Has(HaveRlimits) {
		key("rlimits")
		b = append(b, '{')
		lim := func(v uint64) {
			if v == Unlimited {
				b = append(b, "-1"...)
			} else {
				u(v)
			}
		}
		for i, l := range p.Rlimits {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, security.RlimitName(i))
			b = append(b, ":["...)
			lim(l.Cur)
			b = append(b, ',')
			lim(l.Max)
			b = append(b, ']')
		}
		b = append(b, '}')
	} else {
		missing = append(missing, "rlimits")
	}
	if p.Has(HaveFile) {
		key("file")
		b = append(b, `{"mode":"`...)
		b = strconv.AppendUint(b, uint64(p.File.Mode), 8)
		b = append(b, `","uid":`...)
		u(uint64(p.File.UID))
		b = append(b, `,"gid":`...)
		u(uint64(p.File.GID))
		b = append(b, `,"nosuid":`...)
		b = strconv.AppendBool(b, p.File.MntFlags&MntNoSuid != 0)
		b = append(b, '}')
	} else {
		missing = append(missing, "file")
	}
	key("unreadable")
	b = append(b, '[')
	for i, m := range missing {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, m)
	}
	return append(b, "]}"...)
}

// Lines are the proof for people, one line per group (the watcher prints
// them under an exec event), each "LABEL value", or "LABEL not readable on
// this kernel".
func (p *Proof) Lines() []string {
	none := func(label string) string { return pad(label) + unreadable }
	var l []string
	if p.Has(HaveRoot) {
		l = append(l, pad("root")+p.Root.String())
	} else {
		l = append(l, none("root"))
	}
	cg := []string{}
	if p.Has(HaveCgroup) {
		cg = append(cg, "cgroup2 "+utoa(p.CgroupV2))
	}
	for c := range NumV1 {
		if p.Has(HaveCgroupV1 << c) {
			cg = append(cg, V1Names[c]+" "+utoa(p.CgroupV1[c]))
		}
	}
	if len(cg) > 0 {
		l = append(l, pad("cgroups")+strings.Join(cg, ", "))
	} else {
		l = append(l, none("cgroups"))
	}
	if p.Has(HaveCred) {
		s := "uid " + join32(p.UID[:], "/") + ", gid " + join32(p.GID[:], "/")
		if p.Has(HaveGroups) {
			s += ", groups " + groupsString(p.GroupList(), int(p.NGroups))
		}
		l = append(l, pad("credentials")+s+", securebits 0x"+strconv.FormatUint(uint64(p.Securebits), 16))
	} else {
		l = append(l, none("credentials"))
	}
	if p.Has(HaveCaps) {
		var s []string
		for i, v := range p.Caps.list() {
			s = append(s, capSetNames[i]+" "+CapString(v))
		}
		l = append(l, pad("capabilities")+strings.Join(s, ", "))
	} else {
		l = append(l, none("capabilities"))
	}
	switch {
	case p.Has(HaveSeccomp | HaveSeccompN):
		l = append(l, pad("seccomp")+seccompModeString(p.SeccompMode)+", "+itoa(int(p.SeccompFilters))+" filter(s)")
	case p.Has(HaveSeccomp):
		l = append(l, pad("seccomp")+seccompModeString(p.SeccompMode)+", filter count "+unreadable)
	default:
		l = append(l, none("seccomp"))
	}
	if p.Has(HaveNNP) {
		l = append(l, pad("no_new_privs")+boolDigit(p.NoNewPrivs))
	} else {
		l = append(l, none("no_new_privs"))
	}
	if p.Has(HaveRlimits) {
		var s []string
		for i, r := range p.Rlimits {
			if r.Cur != Unlimited || r.Max != Unlimited {
				s = append(s, security.RlimitName(i)+" "+rlimitString(r))
			}
		}
		l = append(l, pad("rlimits")+strings.Join(s, ", ")+", the others unlimited")
	} else {
		l = append(l, none("rlimits"))
	}
	if p.Has(HaveFile) {
		l = append(l, pad("file")+p.File.String())
	} else {
		l = append(l, none("file"))
	}
	return l
}

func join32(l []uint32, sep string) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = utoa(uint64(v))
	}
	return strings.Join(s, sep)
}
