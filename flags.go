package main

import (
	"fmt"
	"strconv"
	"strings"
)

// A small, strict flag parser in the manner of bubblewrap: long flags only
// (plus -v and -h), "--flag value" or "--flag=value", flags stop at the first
// non-flag argument or at "--", an unknown flag or a repeated single-valued
// flag is an error naming it. The standard flag package accepts repeats
// silently and prints the whole usage on any error, which hides the one line
// a user needs.

type flagKind int

const (
	boolFlag     flagKind = iota // --name
	stringFlag                   // --name VALUE, once
	repeatedFlag                 // --name VALUE, any number of times
	optionalFlag                 // --name or --name=VALUE, once
)

type flagDef struct {
	name  string // without dashes
	short string // one-letter alias without the dash, or ""
	kind  flagKind
}

// parsedFlags holds what was given: for each flag name, its values in order
// ("" for a boolean or a bare optional flag).
type parsedFlags map[string][]string

func (p parsedFlags) has(name string) bool { return len(p[name]) > 0 }

func (p parsedFlags) get(name, def string) string {
	if v := p[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}

// parseFlags parses args against defs and returns the flags and the
// remaining arguments (the command).
func parseFlags(defs []flagDef, args []string) (parsedFlags, []string, error) {
	flags := make(parsedFlags)
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
		var def *flagDef
		for i := range defs {
			if (strings.HasPrefix(arg, "--") && defs[i].name == name) ||
				(!strings.HasPrefix(arg, "--") && defs[i].short != "" && defs[i].short == name) {
				def = &defs[i]
			}
		}
		if def == nil {
			// Quoted only when it holds what would break the line (a
			// newline, a NUL): every error is one line.
			shown := arg
			if q := strconv.Quote(arg); q[1:len(q)-1] != arg {
				shown = q
			}
			return nil, nil, fmt.Errorf("unknown flag %s; see --help for the flags, and put -- before a command that starts with a dash", shown)
		}
		switch def.kind {
		case boolFlag:
			if hasValue {
				return nil, nil, fmt.Errorf("flag --%s takes no value, but got %q", def.name, value)
			}
		case stringFlag, repeatedFlag:
			if !hasValue {
				if len(args) == 0 {
					return nil, nil, fmt.Errorf("flag --%s needs a value", def.name)
				}
				value, args = args[0], args[1:]
			}
		}
		if def.kind != repeatedFlag && flags.has(def.name) {
			return nil, nil, fmt.Errorf("flag --%s given twice; give it once", def.name)
		}
		flags[def.name] = append(flags[def.name], value)
	}
	return flags, nil, nil
}
