// Package cli is the flag parser of every rawns command: a small, strict one
// in the manner of bubblewrap. Long flags (plus one-letter aliases such as
// -v and -h), "--flag value" or "--flag=value"; flags stop at the first
// non-flag argument or at "--"; an unknown flag, or a single-valued flag
// given twice, is an error naming it. The standard flag package accepts
// repeats silently, takes -flag and --flag alike, and prints the whole usage
// on any error, which hides the one line a user needs.
//
// Flags are kept in the order given, because order carries meaning: a
// --bind after a --tmpfs on the same path mounts over it, and bubblewrap's
// --size applies to the next --tmpfs. Pair flags take two values
// (--bind SRC DEST), as bubblewrap's do.
//
// For a command line in runc's shape (global flags, then a verb, then the
// verb's flags), Parse stops at the verb: parse the globals, take the verb
// from the rest, and parse the rest against the verb's definitions.
// Options.SingleDash accepts -name for --name, as runc's parser does and
// as containerd and podman call it.
package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rawns/rawns/internal/quote"
)

// Kind says how a flag takes its value.
type Kind int

const (
	Bool     Kind = iota // --name
	String               // --name VALUE, once
	Repeated             // --name VALUE, any number of times
	Optional             // --name or --name=VALUE, once
	Pair                 // --name A B, any number of times
)

// Def declares a flag.
type Def struct {
	Name  string // without dashes
	Short string // one-letter alias without the dash, or ""
	Kind  Kind
}

// Flag is one flag as given: its name (the Def's, whatever alias was
// used) and its values (none for Bool and a bare Optional, two for Pair).
type Flag struct {
	Name   string
	Values []string
}

// Value is the flag's first value, "" when it has none.
func (f Flag) Value() string {
	if len(f.Values) == 0 {
		return ""
	}
	return f.Values[0]
}

// Flags holds the flags given, in the order given.
type Flags struct {
	list []Flag
}

// List returns every flag given, in order.
func (p Flags) List() []Flag { return p.list }

// Has reports whether the flag was given.
func (p Flags) Has(name string) bool {
	for _, f := range p.list {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Get returns the flag's (last) value, or def when it was not given.
func (p Flags) Get(name, def string) string {
	for i := len(p.list) - 1; i >= 0; i-- {
		if p.list[i].Name == name {
			return p.list[i].Value()
		}
	}
	return def
}

// All returns the values of every occurrence of a one-value flag, in order.
func (p Flags) All(name string) []string {
	var vs []string
	for _, f := range p.list {
		if f.Name == name {
			vs = append(vs, f.Value())
		}
	}
	return vs
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
		return 0, fmt.Errorf("--%s %s: give a whole number of at least %d", name, Quote(v), min)
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
		return 0, fmt.Errorf("--%s %s: give a number from 0 to %d", name, Quote(v), uint64(1<<64-1))
	}
	return n, nil
}

// Quote shows s as it is, or Go-quoted when it holds what would break the
// line (a newline, a NUL) or is empty: every error is one line. The rule
// is package quote's, which the libraries under the CLI use too.
func Quote(s string) string { return quote.Arg(s) }

// UnknownFlagError is Parse's error for a flag not in its definitions.
type UnknownFlagError struct {
	Arg string // as given, dashes included
	// Hint, if set, replaces the generic advice: what to write instead
	// (Options.Hint).
	Hint string
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
	if e.Hint != "" {
		return "unknown flag " + e.Shown() + ": " + e.Hint
	}
	return "unknown flag " + e.Shown() + "; see --help for the flags, and put -- before a command that starts with a dash"
}

// Options change how Parse reads a command line.
type Options struct {
	// SingleDash accepts -name as well as --name for long flags.
	SingleDash bool
	// Repeats accepts a Bool, String or Optional flag given more than
	// once, the last value counting, as runc's parser (urfave/cli) does:
	// dockerd puts a runtime's runtimeArgs before the shim's own global
	// flags, so one may come twice.
	Repeats bool
	// Hint, if set, says what to write instead of a flag that is not
	// defined, given as on the command line without its value ("--pid",
	// "-p"), or "" for no advice; the UnknownFlagError carries it. A
	// function, not a map: a map literal is built by the package's init
	// on every run of the program, used or not.
	Hint func(flag string) string
}

// Parse parses args against defs and returns the flags and the remaining
// arguments (the command).
func Parse(defs []Def, args []string) (Flags, []string, error) {
	return Options{}.Parse(defs, args)
}

// Parse is the package's Parse with these options.
func (o Options) Parse(defs []Def, args []string) (Flags, []string, error) {
	return o.ParseGroups([][]Def{defs}, args)
}

// ParseGroups is Parse over several lists of definitions, as if they were
// one: a command whose flags are declared part by part (rawns run's
// concerns) need not build the whole list on every run.
func (o Options) ParseGroups(groups [][]Def, args []string) (Flags, []string, error) {
	var flags Flags
	for len(args) > 0 {
		arg := args[0]
		if arg == "--" {
			return flags, args[1:], nil
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			return flags, args, nil
		}
		args = args[1:]
		long := strings.HasPrefix(arg, "--")
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		var def *Def
		for _, defs := range groups {
			for i := range defs {
				d := &defs[i]
				if (long || o.SingleDash) && d.Name == name || !long && d.Short != "" && d.Short == name {
					def = d
				}
			}
		}
		if def == nil {
			e := &UnknownFlagError{Arg: arg}
			if o.Hint != nil {
				given, _, _ := strings.Cut(arg, "=")
				e.Hint = o.Hint(given)
			}
			return Flags{}, nil, e
		}
		var values []string
		switch def.Kind {
		case Bool:
			if hasValue {
				return Flags{}, nil, fmt.Errorf("flag --%s takes no value, but got %s", def.Name, strconv.Quote(value))
			}
		case Optional:
			if hasValue {
				values = []string{value}
			}
		case String, Repeated:
			if !hasValue {
				v, err := next(def, args, "a value", "VALUE")
				if err != nil {
					return Flags{}, nil, err
				}
				value, args = v, args[1:]
			}
			values = []string{value}
		case Pair:
			if hasValue {
				return Flags{}, nil, fmt.Errorf("flag --%s takes two values, as --%s A B; = cannot join them", def.Name, def.Name)
			}
			a, err := next(def, args, "two values", "A B")
			if err != nil {
				return Flags{}, nil, err
			}
			b, err := next(def, args[1:], "two values", "A B")
			if err != nil {
				return Flags{}, nil, err
			}
			values, args = []string{a, b}, args[2:]
		}
		if def.Kind != Repeated && def.Kind != Pair && !o.Repeats && flags.Has(def.Name) {
			return Flags{}, nil, fmt.Errorf("flag --%s given twice; give it once", def.Name)
		}
		flags.list = append(flags.list, Flag{Name: def.Name, Values: values})
	}
	return flags, nil, nil
}

// next takes a flag's value from the next argument. A forgotten value must
// not swallow what follows: "--hostname -- hostname" would set the
// hostname to "--" and run "hostname" as a flag. So a next argument that
// is "--" or looks like a flag is refused, with the spelling that passes it
// on purpose; a negative number ("-1.5") is a value.
func next(def *Def, args []string, what, shape string) (string, error) {
	if len(args) == 0 {
		return "", fmt.Errorf("flag --%s needs %s: --%s %s", def.Name, what, def.Name, shape)
	}
	v := args[0]
	if v == "--" || strings.HasPrefix(v, "-") && len(v) > 1 && !isNumber(v[1:]) {
		if def.Kind == Pair {
			return "", fmt.Errorf("flag --%s needs %s, but the next argument is %s; write a path that starts with - as ./%s", def.Name, what, Quote(v), v)
		}
		return "", fmt.Errorf("flag --%s needs %s, but the next argument is %s; to pass it on purpose write --%s=%s", def.Name, what, Quote(v), def.Name, v)
	}
	return v, nil
}

// isNumber reports whether s starts like a decimal number: a digit, or a
// dot and a digit.
func isNumber(s string) bool {
	if s != "" && s[0] == '.' {
		s = s[1:]
	}
	return s != "" && s[0] >= '0' && s[0] <= '9'
}
