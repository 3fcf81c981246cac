package seccomp

import (
	"math/rand/v2"
	"testing"

	"github.com/rawns/rawns/security"
)

// reference evaluates a profile for one call the slow and obvious way:
// the first applicable rule, in profile order, that names the call and
// whose conditions all hold; else the default action.
func reference(t *testing.T, p *Profile, a *Arch, opt Options, d Data) uint32 {
	kernel := opt.Kernel
	for i := range p.Syscalls {
		r := &p.Syscalls[i]
		ok, err := applies(r, a, opt.Caps, &kernel, "")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		names := append(append([]string(nil), r.Names...), r.Name)
		named := false
		for _, n := range names {
			if nr, ok := a.Syscall(n); ok && nr == d.Nr {
				named = true
			}
		}
		if !named {
			continue
		}
		match := true
		for _, c := range r.Args {
			v := d.Args[c.Index]
			switch c.Op {
			case "SCMP_CMP_EQ":
				match = match && v == c.Value
			case "SCMP_CMP_NE":
				match = match && v != c.Value
			case "SCMP_CMP_LT":
				match = match && v < c.Value
			case "SCMP_CMP_LE":
				match = match && v <= c.Value
			case "SCMP_CMP_GT":
				match = match && v > c.Value
			case "SCMP_CMP_GE":
				match = match && v >= c.Value
			case "SCMP_CMP_MASKED_EQ":
				match = match && v&c.Value == c.ValueTwo
			}
		}
		if match {
			act, _ := action(r.Action, r.ErrnoRet, "")
			return act
		}
	}
	act, _ := action(p.DefaultAction, p.DefaultErrnoRet, "")
	return act
}

// TestCompiledMatchesReference runs docker's default profile, compiled
// for both architectures and three capability sets, on every system call
// of the table with argument values that hit its conditions and random
// ones, against the reference.
func TestCompiledMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := Default()
	var interesting []uint64
	for _, r := range p.Syscalls {
		for _, c := range r.Args {
			interesting = append(interesting, c.Value, c.ValueTwo, c.Value|c.ValueTwo, c.Value+1, c.Value-1)
		}
	}
	for _, a := range []*Arch{AMD64, ARM64} {
		for _, caps := range []security.CapSet{0, security.DockerDefault, security.DockerDefault | 1<<21 | 1<<19 | 1<<16} {
			opt := Options{Caps: caps, Kernel: 6018}
			prog, err := Compile(p, a, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range a.table() {
				for k := 0; k < 40; k++ {
					d := Data{Nr: e.nr, Arch: a.auditArch}
					for i := range d.Args {
						switch rng.IntN(3) {
						case 0:
							d.Args[i] = interesting[rng.IntN(len(interesting))]
						case 1:
							d.Args[i] = rng.Uint64() & uint64(rng.Uint32())
						}
					}
					if got, want := Run(prog, d), reference(t, p, a, opt, d); got != want {
						t.Fatalf("%s caps %v %s%v: compiled %s, profile says %s", a.Name, caps, e.name, d.Args, describe(got), describe(want))
					}
				}
			}
		}
	}
}
