package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rawns/rawns/internal/jsontext"
)

// A small JSON reader for profiles (RFC 8259), instead of encoding/json:
// linking encoding/json into the rawns binary costs every run page faults
// at start-up, used or not (docs/benchmarks.md). It parses into a tree and
// maps the tree onto Profile; keys it does not know are skipped, as
// encoding/json skips them, and key names match case-insensitively, as
// encoding/json matches them.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

type jval struct {
	kind jkind
	s    string // a string, or a number's text
	b    bool
	arr  []jval
	obj  []jmember
	off  int // where it starts, for errors
}

type jmember struct {
	key string
	val jval
}

type jparser struct {
	src   []byte
	pos   int
	depth int
}

// ParseProfile reads a profile in docker's or OCI's JSON format.
func ParseProfile(data []byte) (*Profile, error) {
	p := &jparser{src: data}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, p.errorf("data after the top-level value")
	}
	return toProfile(v)
}

func (p *jparser) errorf(format string, args ...any) error {
	line := 1 + strings.Count(string(p.src[:min(p.pos, len(p.src))]), "\n")
	return fmt.Errorf("not valid JSON: line %d (byte %d): %s", line, p.pos, fmt.Sprintf(format, args...))
}

func (p *jparser) space() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jparser) value() (jval, error) {
	p.space()
	if p.pos >= len(p.src) {
		return jval{}, p.errorf("unexpected end of input")
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 64 {
		return jval{}, p.errorf("nested more than 64 deep")
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{':
		p.pos++
		v := jval{kind: jObj, off: start}
		p.space()
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			return v, nil
		}
		for {
			p.space()
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				return jval{}, p.errorf("expected a string key")
			}
			k, err := p.str()
			if err != nil {
				return jval{}, err
			}
			p.space()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return jval{}, p.errorf("expected ':' after key %q", k)
			}
			p.pos++
			e, err := p.value()
			if err != nil {
				return jval{}, err
			}
			v.obj = append(v.obj, jmember{k, e})
			p.space()
			if p.pos < len(p.src) && p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.src) && p.src[p.pos] == '}' {
				p.pos++
				return v, nil
			}
			return jval{}, p.errorf("expected ',' or '}' in an object")
		}
	case c == '[':
		p.pos++
		v := jval{kind: jArr, off: start}
		p.space()
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		for {
			e, err := p.value()
			if err != nil {
				return jval{}, err
			}
			v.arr = append(v.arr, e)
			p.space()
			if p.pos < len(p.src) && p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.src) && p.src[p.pos] == ']' {
				p.pos++
				return v, nil
			}
			return jval{}, p.errorf("expected ',' or ']' in an array")
		}
	case c == '"':
		s, err := p.str()
		return jval{kind: jStr, s: s, off: start}, err
	case c == 't' || c == 'f' || c == 'n':
		rest := p.src[p.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("true")):
			p.pos += 4
			return jval{kind: jBool, b: true, off: start}, nil
		case bytes.HasPrefix(rest, []byte("false")):
			p.pos += 5
			return jval{kind: jBool, off: start}, nil
		case bytes.HasPrefix(rest, []byte("null")):
			p.pos += 4
			return jval{kind: jNull, off: start}, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.num()
	}
	return jval{}, p.errorf("unexpected %q", p.src[p.pos])
}

func (p *jparser) num() (jval, error) {
	start := p.pos
	if p.src[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(p.src) && p.src[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return jval{}, p.errorf("bad number")
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return jval{}, p.errorf("bad number")
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return jval{}, p.errorf("bad number")
		}
	}
	return jval{kind: jNum, s: string(p.src[start:p.pos]), off: start}, nil
}

// str reads the string at p.pos as encoding/json would (jsontext.Unquote).
func (p *jparser) str() (string, error) {
	s, end, problem := jsontext.Unquote(p.src, p.pos)
	p.pos = end
	if problem != "" {
		return "", p.errorf("%s", problem)
	}
	return s, nil
}

// Mapping the tree onto Profile.

type fieldError struct {
	path string
	msg  string
}

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func wrongType(path string, want string) error {
	return &fieldError{path, "want " + want}
}

func (v jval) member(key string) (jval, bool) {
	for i := len(v.obj) - 1; i >= 0; i-- { // the last one wins, as in encoding/json
		if strings.EqualFold(v.obj[i].key, key) {
			return v.obj[i].val, true
		}
	}
	return jval{}, false
}

func getString(v jval, path string) (string, error) {
	switch v.kind {
	case jNull:
		return "", nil
	case jStr:
		return v.s, nil
	}
	return "", wrongType(path, "a string")
}

func getStrings(v jval, path string) ([]string, error) {
	if v.kind == jNull {
		return nil, nil
	}
	if v.kind != jArr {
		return nil, wrongType(path, "an array of strings")
	}
	out := make([]string, 0, len(v.arr))
	for i, e := range v.arr {
		s, err := getString(e, path+"["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func getUint(v jval, path string, bits int) (uint64, error) {
	if v.kind != jNum {
		return 0, wrongType(path, "a number")
	}
	n, err := strconv.ParseUint(v.s, 10, bits)
	if err != nil {
		return 0, &fieldError{path, fmt.Sprintf("%s is not a whole number from 0 to %d", v.s, uint64(1)<<bits-1)}
	}
	return n, nil
}

func getUint32p(v jval, path string) (*uint32, error) {
	if v.kind == jNull {
		return nil, nil
	}
	n, err := getUint(v, path, 32)
	if err != nil {
		return nil, err
	}
	u := uint32(n)
	return &u, nil
}

func toProfile(v jval) (*Profile, error) {
	if v.kind != jObj {
		return nil, errors.New("a seccomp profile is a JSON object with defaultAction and syscalls")
	}
	p := &Profile{}
	var err error
	for _, m := range v.obj {
		path := m.key
		switch strings.ToLower(m.key) {
		case "defaultaction":
			p.DefaultAction, err = getString(m.val, path)
		case "defaulterrnoret":
			p.DefaultErrnoRet, err = getUint32p(m.val, path)
		case "architectures":
			p.Architectures, err = getStrings(m.val, path)
		case "flags":
			p.Flags, err = getStrings(m.val, path)
		case "listenerpath":
			p.ListenerPath, err = getString(m.val, path)
		case "listenermetadata":
			p.ListenerMetadata, err = getString(m.val, path)
		case "archmap":
			p.ArchMap, err = toArchMap(m.val, path)
		case "syscalls":
			p.Syscalls, err = toRules(m.val, path)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func toArchMap(v jval, path string) ([]ArchMap, error) {
	if v.kind == jNull {
		return nil, nil
	}
	if v.kind != jArr {
		return nil, wrongType(path, "an array")
	}
	var out []ArchMap
	for i, e := range v.arr {
		ep := path + "[" + strconv.Itoa(i) + "]"
		if e.kind != jObj {
			return nil, wrongType(ep, "an object")
		}
		var a ArchMap
		var err error
		if x, ok := e.member("architecture"); ok {
			if a.Architecture, err = getString(x, ep+".architecture"); err != nil {
				return nil, err
			}
		}
		if x, ok := e.member("subArchitectures"); ok {
			if a.SubArchitectures, err = getStrings(x, ep+".subArchitectures"); err != nil {
				return nil, err
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func toRules(v jval, path string) ([]Rule, error) {
	if v.kind == jNull {
		return nil, nil
	}
	if v.kind != jArr {
		return nil, wrongType(path, "an array of rules")
	}
	out := make([]Rule, 0, len(v.arr))
	for i, e := range v.arr {
		ep := path + "[" + strconv.Itoa(i) + "]"
		if e.kind != jObj {
			return nil, wrongType(ep, "an object")
		}
		var r Rule
		var err error
		for _, m := range e.obj {
			mp := ep + "." + m.key
			switch strings.ToLower(m.key) {
			case "names":
				r.Names, err = getStrings(m.val, mp)
			case "name":
				r.Name, err = getString(m.val, mp)
			case "action":
				r.Action, err = getString(m.val, mp)
			case "errnoret":
				r.ErrnoRet, err = getUint32p(m.val, mp)
			case "comment":
				r.Comment, err = getString(m.val, mp)
			case "args":
				r.Args, err = toArgs(m.val, mp)
			case "includes":
				r.Includes, err = toFilter(m.val, mp)
			case "excludes":
				r.Excludes, err = toFilter(m.val, mp)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func toArgs(v jval, path string) ([]Arg, error) {
	if v.kind == jNull {
		return nil, nil
	}
	if v.kind != jArr {
		return nil, wrongType(path, "an array of conditions")
	}
	var out []Arg
	for i, e := range v.arr {
		ep := path + "[" + strconv.Itoa(i) + "]"
		if e.kind != jObj {
			return nil, wrongType(ep, "an object")
		}
		var a Arg
		for _, m := range e.obj {
			mp := ep + "." + m.key
			var err error
			var n uint64
			switch strings.ToLower(m.key) {
			case "index":
				n, err = getUint(m.val, mp, 32)
				a.Index = uint32(n)
			case "value":
				a.Value, err = getUint(m.val, mp, 64)
			case "valuetwo":
				a.ValueTwo, err = getUint(m.val, mp, 64)
			case "op":
				a.Op, err = getString(m.val, mp)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func toFilter(v jval, path string) (Filter, error) {
	var f Filter
	if v.kind == jNull {
		return f, nil
	}
	if v.kind != jObj {
		return f, wrongType(path, "an object")
	}
	var err error
	for _, m := range v.obj {
		mp := path + "." + m.key
		switch strings.ToLower(m.key) {
		case "caps":
			f.Caps, err = getStrings(m.val, mp)
		case "arches":
			f.Arches, err = getStrings(m.val, mp)
		case "minkernel":
			f.MinKernel, err = getString(m.val, mp)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}
