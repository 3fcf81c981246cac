package seccomp_test

import (
	"testing"

	"github.com/rawns/rawns/security"
	"github.com/rawns/rawns/security/seccomp"
)

// What --seccomp costs a run in the parent (docs/benchmarks.md): building
// docker's default profile and compiling it, and reading a JSON profile.
// Fresh: the compiler itself, not the precompiled program.
func BenchmarkCompileDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seccomp.Compile(seccomp.Default(), seccomp.Native(), seccomp.Options{Caps: security.DockerDefault, Kernel: 6018, Fresh: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseProfile(b *testing.B) {
	b.ReportAllocs()
	data := []byte(customProfile)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := seccomp.ParseProfile(data); err != nil {
			b.Fatal(err)
		}
	}
}
