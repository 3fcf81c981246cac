// Package mobyprofile converts docker's default seccomp profile, as
// github.com/moby/profiles/seccomp (moby's own module for it) builds it,
// into a seccomp.Profile. Only the generator (internal/mkdefault) and the
// tests import it: the rawns binary carries the generated zdefault.go
// instead, so that it links neither moby's module, nor the runtime-spec
// types, nor encoding/json, which cost every run start-up page faults
// (docs/benchmarks.md).
package mobyprofile

import (
	moby "github.com/moby/profiles/seccomp"

	"github.com/rawns/rawns/security/seccomp"
)

// Default returns moby's DefaultProfile as a seccomp.Profile.
func Default() *seccomp.Profile {
	m := moby.DefaultProfile()
	p := &seccomp.Profile{
		DefaultAction:   string(m.DefaultAction),
		DefaultErrnoRet: u32(m.DefaultErrnoRet),
	}
	for _, a := range m.Architectures {
		p.Architectures = append(p.Architectures, string(a))
	}
	for _, am := range m.ArchMap {
		e := seccomp.ArchMap{Architecture: string(am.Arch)}
		for _, s := range am.SubArches {
			e.SubArchitectures = append(e.SubArchitectures, string(s))
		}
		p.ArchMap = append(p.ArchMap, e)
	}
	for _, s := range m.Syscalls {
		r := seccomp.Rule{
			Names:    append([]string(nil), s.Names...),
			Name:     s.Name,
			Action:   string(s.Action),
			ErrnoRet: u32(s.ErrnoRet),
			Comment:  s.Comment,
		}
		for _, a := range s.Args {
			r.Args = append(r.Args, seccomp.Arg{Index: uint32(a.Index), Value: a.Value, ValueTwo: a.ValueTwo, Op: string(a.Op)})
		}
		r.Includes = filter(s.Includes)
		r.Excludes = filter(s.Excludes)
		p.Syscalls = append(p.Syscalls, r)
	}
	return p
}

func filter(f *moby.Filter) seccomp.Filter {
	if f == nil {
		return seccomp.Filter{}
	}
	out := seccomp.Filter{Caps: append([]string(nil), f.Caps...), Arches: append([]string(nil), f.Arches...)}
	if f.MinKernel != nil {
		out.MinKernel = f.MinKernel.String()
	}
	if len(out.Caps) == 0 {
		out.Caps = nil
	}
	if len(out.Arches) == 0 {
		out.Arches = nil
	}
	return out
}

func u32(p *uint) *uint32 {
	if p == nil {
		return nil
	}
	v := uint32(*p)
	return &v
}
