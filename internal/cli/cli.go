// Package cli is the flag parser of every rawns command: a small, strict one
// in the manner of bubblewrap. Long flags only (plus one-letter aliases such
// as -v and -h), "--flag value" or "--flag=value"; flags stop at the first
// non-flag argument or at "--"; an unknown flag, or a single-valued flag
// given twice, is an error naming it. The standard flag package accepts
// repeats silently, takes -flag and --flag alike, and prints the whole usage
// on any error, which hides the one line a user needs.
package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says how a flag takes its value.
type Kind int

const (
	Bool     Kind = iota // --name
	String               // --name VALUE, once
	Repeated             // --name VALUE, any number of times
	Optional             // --name or --name=VALUE, once
)

// Def declares a flag.
type Def struct {
	Name  string // without dashes
	Short string // one-letter alias without the dash, or ""
	Kind  Kind
}

// Flags holds what was given: for each flag name, its values in order
// ("" for a boolean or a bare optional flag).
type Flags map[string][]string

// Has reports whether the flag was given.
func (p Flags) Has(name string) bool { return len(p[name]) > 0 }

// Get returns the flag's (last) value, or def when it was not given.
func (p Flags) Get(name, def string) string {
	if v := p[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}

// Int returns the flag's value as an int of at least min, or def when it
// was not given; the error names the flag and what it wants.
func (p Flags) Int(name string, def, min int) (int, error) {
	if !p.Has(name) {
		return def, nil
	}
	v := p.Get(name, "")
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		return 0, fmt.Errorf("--%s %s: give a whole number of at least %d", name, quote(v), min)
	}
	return n, nil
}

// Uint64 returns the flag's value as a uint64, or def when it was not
// given; the error names the flag.
func (p Flags) Uint64(name string, def uint64) (uint64, error) {
	if !p.Has(name) {
		return def, nil
	}
	v := p.Get(name, "")
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("--%s %s: give a number from 0 to %d", name, quote(v), uint64(1<<64-1))
	}
	return n, nil
}

// quote shows s as it is, or Go-quoted when it holds what would break the
// line (a newline, a NUL) or is empty: every error is one line.
func quote(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s || s == "" {
		return q
	}
	return s
}

// UnknownFlagError is Parse's error for a flag not in its definitions.
type UnknownFlagError struct {
	Arg string // as given, dashes included
}

// Shown is the flag as an error shows it: as given, or Go-quoted when it
// holds what would break the line (a newline, a NUL).
func (e *UnknownFlagError) Shown() string {
	if q := strconv.Quote(e.Arg); q[1:len(q)-1] != e.Arg {
		return q
	}
	return e.Arg
}

// Error is worded for a command that takes a command line after its flags,
// as rawns run and rawns bench do.
func (e *UnknownFlagError) Error() string {
	return "unknown flag " + e.Shown() + "; see --help for the flags, and put -- before a command that starts with a dash"
}

// Parse parses args against defs and returns the flags and the remaining
// arguments (the command).
func Parse(defs []Def, args []string) (Flags, []string, error) {
	flags := make(Flags)
	for len(args) > 0 {
		arg := args[0]
		if arg == "--" {
			return flags, args[1:], nil
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			return flags, args, nil
		}
		args = args[1:]
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		var def *Def
		for i := range defs {
			if (strings.HasPrefix(arg, "--") && defs[i].Name == name) ||
				(!strings.HasPrefix(arg, "--") && defs[i].Short != "" && defs[i].Short == name) {
				def = &defs[i]
			}
		}
		if def == nil {
			return nil, nil, &UnknownFlagError{Arg: arg}
		}
		switch def.Kind {
		case Bool:
			if hasValue {
				return nil, nil, fmt.Errorf("flag --%s takes no value, but got %q", def.Name, value)
			}
		case String, Repeated:
			if !hasValue {
				if len(args) == 0 {
					return nil, nil, fmt.Errorf("flag --%s needs a value", def.Name)
				}
				value, args = args[0], args[1:]
			}
		}
		if def.Kind != Repeated && flags.Has(def.Name) {
			return nil, nil, fmt.Errorf("flag --%s given twice; give it once", def.Name)
		}
		flags[def.Name] = append(flags[def.Name], value)
	}
	return flags, nil, nil
}
