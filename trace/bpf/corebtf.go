package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// Where the time of a load goes (measured, docs/trace.md): parsing the
// kernel's 5.5 MB BTF and indexing its names is most of it, and on a VM
// where a page fault costs 12 µs, touching those pages alone is ~17 ms. The
// CO-RE relocations of trace.c only ask about a dozen structs and ~30
// members, so after the first full parse the loader keeps a minimal BTF
// holding just those (a few hundred bytes, offsets exactly as the kernel
// has them, like `bpftool gen min_core_btf`) in a tmpfs file keyed by the
// boot and the object, and later loads relocate against that instead.

// defaultBTFCacheDir is on tmpfs: gone at reboot, which is exactly when the
// kernel (and so its BTF) can change. A directory of its own, not
// rawns-oci's state root /run/rawns, whose entries are containers.
const defaultBTFCacheDir = "/run/rawns-trace"

// btfCachePath names the minimal BTF for this boot, this kernel and this
// object. An empty result means no cache (unknown boot id).
func btfCachePath(dir string) string {
	if dir == "" {
		return ""
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return ""
	}
	h := fnv.New64a()
	h.Write(bytes.TrimSpace(boot))
	h.Write(uts.Release[:])
	h.Write(uts.Version[:])
	h.Write(uts.Machine[:])
	h.Write(_BpfBytes)
	return filepath.Join(dir, fmt.Sprintf("core-btf-%016x.btf", h.Sum64()))
}

// readBTFCache returns the cached minimal BTF, or nil if there is none or it
// cannot be trusted: it must be a regular file owned by us (root) and
// writable by nobody else, in a directory only we can write.
func readBTFCache(path string) *btf.Spec {
	if path == "" {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Dir(path), &st); err != nil || st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		return nil
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
		st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 || st.Size > 1<<20 {
		return nil
	}
	raw := make([]byte, st.Size)
	if _, err := f.ReadAt(raw, 0); err != nil {
		return nil
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	return spec
}

// writeBTFCache stores raw at path atomically; failures are not errors, the
// next load just parses the kernel BTF again.
func writeBTFCache(path string, raw []byte) {
	if path == "" {
		return
	}
	dir := filepath.Dir(path)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return
	}
	tmp, err := os.CreateTemp(dir, ".core-btf-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(raw)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		os.Remove(tmp.Name())
	}
}

// minimalKernelBTF extracts from kernel the types that local's CO-RE
// relocations can refer to: for every struct or union declared in the
// object (flavour suffixes "___x" stripped), the kernel type of that name
// with only the members the object declares, at their kernel offsets; the
// anonymous structs and unions on the way to such a member are kept too
// (ns_common.ns_id lives in one since 6.18). Types reached through a kept
// member but not declared locally become empty placeholders of the right
// name and size.
func minimalKernelBTF(local, kernel *btf.Spec) ([]byte, error) {
	p := pruner{want: make(map[string]map[string]bool), memo: make(map[btf.Type]btf.Type)}
	for t, err := range local.All() {
		if err != nil {
			return nil, err
		}
		var members []btf.Member
		switch v := t.(type) {
		case *btf.Struct:
			members = v.Members
		case *btf.Union:
			members = v.Members
		default:
			continue
		}
		name := essential(t.TypeName())
		if name == "" {
			continue
		}
		set := p.want[name]
		if set == nil {
			set = make(map[string]bool)
			p.want[name] = set
		}
		for _, m := range members {
			set[m.Name] = true
		}
	}
	var roots []btf.Type
	// The enums whose values the object reads (bpf_core_enum_value:
	// enum cgroup_subsys_id), whole.
	for t, err := range local.All() {
		if err != nil {
			return nil, err
		}
		if e, ok := t.(*btf.Enum); ok && e.Name != "" {
			cands, err := kernel.AnyTypesByName(essential(e.Name))
			if errors.Is(err, btf.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, c := range cands {
				if _, ok := c.(*btf.Enum); ok {
					roots = append(roots, c)
				}
			}
		}
	}
	for name := range p.want {
		cands, err := kernel.AnyTypesByName(name)
		if errors.Is(err, btf.ErrNotFound) {
			continue // the object's own types (event, nsid, ...)
		}
		if err != nil {
			return nil, err
		}
		for _, c := range cands {
			switch c.(type) {
			case *btf.Struct, *btf.Union:
				roots = append(roots, p.typ(c))
			}
		}
	}
	b, err := btf.NewBuilder(roots, nil)
	if err != nil {
		return nil, err
	}
	return b.Marshal(nil, &btf.MarshalOptions{Order: binary.NativeEndian})
}

func essential(name string) string {
	if i := strings.Index(name, "___"); i > 0 {
		return name[:i]
	}
	return name
}

type pruner struct {
	want map[string]map[string]bool // struct name -> member names
	memo map[btf.Type]btf.Type
}

func (p *pruner) typ(t btf.Type) btf.Type {
	if c, ok := p.memo[t]; ok {
		return c
	}
	switch v := t.(type) {
	case *btf.Struct:
		n := &btf.Struct{Name: v.Name, Size: v.Size}
		p.memo[t] = n
		n.Members = p.members(v.Members, p.wanted(v.Name, v.Members))
		return n
	case *btf.Union:
		n := &btf.Union{Name: v.Name, Size: v.Size}
		p.memo[t] = n
		n.Members = p.members(v.Members, p.wanted(v.Name, v.Members))
		return n
	case *btf.Pointer:
		n := &btf.Pointer{}
		p.memo[t] = n
		n.Target = p.typ(v.Target)
		return n
	case *btf.Typedef:
		n := &btf.Typedef{Name: v.Name}
		p.memo[t] = n
		n.Type = p.typ(v.Type)
		return n
	case *btf.Const:
		n := &btf.Const{}
		p.memo[t] = n
		n.Type = p.typ(v.Type)
		return n
	case *btf.Volatile:
		n := &btf.Volatile{}
		p.memo[t] = n
		n.Type = p.typ(v.Type)
		return n
	case *btf.Restrict:
		n := &btf.Restrict{}
		p.memo[t] = n
		n.Type = p.typ(v.Type)
		return n
	case *btf.TypeTag:
		return p.typ(v.Type)
	case *btf.Array:
		n := &btf.Array{Nelems: v.Nelems}
		p.memo[t] = n
		n.Index = p.typ(v.Index)
		n.Type = p.typ(v.Type)
		return n
	case *btf.Int, *btf.Enum, *btf.Float:
		return t // leaves, no references
	}
	// Functions, function pointers and the like are never read here.
	return &btf.Void{}
}

// wanted are the members of a struct or union to keep: those the object
// reads, by the struct's name; every one of an unnamed struct reached
// through a typedef (kuid_t, kernel_cap_t, atomic_t: a few scalars whose
// names the object reads through the typedef).
func (p *pruner) wanted(name string, ms []btf.Member) map[string]bool {
	if name != "" {
		return p.want[name]
	}
	all := make(map[string]bool, len(ms))
	for _, m := range ms {
		all[m.Name] = true
	}
	return all
}

// members keeps the named members in names and the anonymous members that
// contain one of them.
func (p *pruner) members(ms []btf.Member, names map[string]bool) []btf.Member {
	var out []btf.Member
	for _, m := range ms {
		if m.Name != "" {
			if names[m.Name] {
				m.Type = p.typ(m.Type)
				m.Tags = nil
				out = append(out, m)
			}
			continue
		}
		var sub btf.Type
		switch v := m.Type.(type) {
		case *btf.Struct:
			if kept := p.members(v.Members, names); len(kept) > 0 {
				sub = &btf.Struct{Size: v.Size, Members: kept}
			}
		case *btf.Union:
			if kept := p.members(v.Members, names); len(kept) > 0 {
				sub = &btf.Union{Size: v.Size, Members: kept}
			}
		}
		if sub != nil {
			m.Type = sub
			m.Tags = nil
			out = append(out, m)
		}
	}
	return out
}
