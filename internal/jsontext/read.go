package jsontext

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Reader reads a JSON document of a known shape, value by value, as the
// OCI verbs read their state.json: encoding/json's decoder would page in
// its reflection-driven code and allocate a map and a slice per property
// in every start, delete, state and kill (each fresh allocation size a
// fresh span, each fresh page a fault, ~12 µs on the development VM).
// What it accepts and what it makes of strings is encoding/json's: the
// grammar of RFC 8259, invalid UTF-8 and lone surrogates read as U+FFFD
// (the tests fuzz it against encoding/json). The first error sticks.
type Reader struct {
	data  []byte
	pos   int
	err   error
	depth int // the objects and arrays open around pos
}

// NewReader reads data.
func NewReader(data []byte) *Reader { return &Reader{data: data} }

// maxDepth bounds the nesting of objects and arrays, as encoding/json's
// 10000: a document nested deeper is an error there, so here too.
const maxDepth = 10000

// Bytes is the document the Reader reads.
func (r *Reader) Bytes() []byte { return r.data }

// Err is the first error.
func (r *Reader) Err() error { return r.err }

func (r *Reader) fail(what string) error {
	if r.err == nil {
		if r.pos >= len(r.data) {
			r.err = errors.New("unexpected end of JSON input")
		} else {
			r.err = errors.New(what + " at offset " + strconv.Itoa(r.pos))
		}
	}
	return r.err
}

func (r *Reader) space() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek is the next byte after white space, 0 at the end.
func (r *Reader) peek() byte {
	r.space()
	if r.pos < len(r.data) {
		return r.data[r.pos]
	}
	return 0
}

// Null reads a null if one comes next, and says so.
func (r *Reader) Null() bool {
	if r.err != nil || r.peek() != 'n' {
		return false
	}
	return r.literal("null")
}

func (r *Reader) literal(lit string) bool {
	if len(r.data)-r.pos < len(lit) || string(r.data[r.pos:r.pos+len(lit)]) != lit {
		r.fail("invalid literal")
		return false
	}
	r.pos += len(lit)
	return true
}

// Object reads an object, calling member with each key; member reads the
// value (one read, or Skip). A null is an empty object.
func (r *Reader) Object(member func(key string) error) error {
	return r.Members(func(key []byte) error { return member(string(key)) })
}

// Members is Object with each key as bytes, valid until member returns
// (a slice of the document, or of a buffer when the key has escapes): a
// decoder that switches on string(key) or skips the value allocates
// nothing for the key.
func (r *Reader) Members(member func(key []byte) error) error {
	return r.items('{', '}', "not an object", "want a comma or } after an object's value", func() error {
		if r.peek() != '"' {
			return r.fail("want a property name")
		}
		key, end, problem := unquote(r.data, r.pos)
		r.pos = end
		if problem != "" {
			return r.fail(problem)
		}
		if r.peek() != ':' {
			return r.fail("want a colon after a property name")
		}
		r.pos++
		return member(key)
	})
}

// open steps into the object or array at pos, counting its depth.
func (r *Reader) open() error {
	if r.depth >= maxDepth {
		return r.fail("nested too deeply")
	}
	r.depth++
	r.pos++
	return nil
}

// Array reads an array, calling elem for each element; elem reads it (one
// read, or Skip). A null is an empty array: a caller that tells null from
// [] checks Null first.
func (r *Reader) Array(elem func() error) error {
	return r.items('[', ']', "not an array", "want a comma or ] after an array's element", elem)
}

// items reads an object or an array, between open and close, calling item
// for each member or element, which reads it; notOne and badSep are the
// errors for a value of another kind and for what follows an item. A null
// is an empty one. An error of item's is kept as the Reader's.
func (r *Reader) items(open, close byte, notOne, badSep string, item func() error) error {
	if r.Null() {
		return nil
	}
	if r.err != nil {
		return r.err
	}
	if r.peek() != open {
		return r.fail(notOne)
	}
	if err := r.open(); err != nil {
		return err
	}
	if r.peek() == close {
		r.pos++
		r.depth--
		return nil
	}
	for {
		if err := item(); err != nil {
			if r.err == nil {
				r.err = err
			}
			return err
		}
		if r.err != nil {
			return r.err
		}
		switch r.peek() {
		case ',':
			r.pos++
		case close:
			r.pos++
			r.depth--
			return nil
		default:
			return r.fail(badSep)
		}
	}
}

// Strings reads an array of strings; null is nil, and a null element
// the empty string, as json.Unmarshal leaves it.
func (r *Reader) Strings() ([]string, error) {
	if r.Null() {
		return nil, nil
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.peek() != '[' {
		return nil, r.fail("not an array")
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	out := []string{}
	if r.peek() == ']' {
		r.pos++
		r.depth--
		return out, nil
	}
	for {
		s := ""
		if !r.Null() {
			var err error
			if s, err = r.String(); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			r.depth--
			return out, nil
		default:
			return nil, r.fail("want a comma or ] after an array's element")
		}
	}
}

// String reads a string.
func (r *Reader) String() (string, error) {
	if r.err != nil {
		return "", r.err
	}
	if r.peek() != '"' {
		return "", r.fail("not a string")
	}
	s, end, problem := Unquote(r.data, r.pos)
	r.pos = end
	if problem != "" {
		return "", r.fail(problem)
	}
	return s, nil
}

// Unquote decodes the JSON string whose opening quote is data[pos] as
// encoding/json does (escapes, surrogate pairs; invalid UTF-8 and lone
// surrogates as U+FFFD) and returns it with the offset just after its
// closing quote. When the string is not valid it returns what is wrong
// ("unterminated string", "control character in a string", "invalid \u
// escape", "invalid escape in a string") and the offset where it was
// found: len(data) for an unterminated one. It serves Reader.String and
// the seccomp profile parser (security/seccomp/json.go).
func Unquote(data []byte, pos int) (s string, end int, problem string) {
	b, end, problem := unquote(data, pos)
	return string(b), end, problem
}

// unquote is Unquote's bytes: a slice of data when the string has nothing
// to unescape or replace, else a new buffer.
func unquote(data []byte, pos int) (s []byte, end int, problem string) {
	pos++ // the opening quote
	start := pos
	// The common case: nothing to unescape or replace.
	for pos < len(data) {
		c := data[pos]
		if c == '"' {
			return data[start:pos], pos + 1, ""
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		pos++
	}
	b := append([]byte(nil), data[start:pos]...)
	for pos < len(data) {
		c := data[pos]
		switch {
		case c == '"':
			return b, pos + 1, ""
		case c < 0x20:
			return nil, pos, "control character in a string"
		case c == '\\':
			if pos+1 >= len(data) {
				return nil, len(data), "unterminated string"
			}
			e := data[pos+1]
			pos += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				c1, ok := hex4(data, pos)
				if !ok {
					return nil, pos, "invalid \\u escape"
				}
				pos += 4
				if utf16.IsSurrogate(c1) {
					// A pair, when a low surrogate's escape follows;
					// else U+FFFD, and what follows is read on its own.
					if pos+6 <= len(data) && data[pos] == '\\' && data[pos+1] == 'u' {
						c2, ok := hex4(data, pos+2)
						if !ok {
							return nil, pos + 2, "invalid \\u escape"
						}
						if dec := utf16.DecodeRune(c1, c2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							pos += 6
							break
						}
					}
					c1 = utf8.RuneError
				}
				b = utf8.AppendRune(b, c1)
			default:
				return nil, pos - 2, "invalid escape in a string"
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			pos++
		default:
			rr, size := utf8.DecodeRune(data[pos:])
			if rr == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, data[pos:pos+size]...)
			}
			pos += size
		}
	}
	return nil, len(data), "unterminated string"
}

// hex4 reads the four hex digits of a \u escape at data[pos:].
func hex4(data []byte, pos int) (rune, bool) {
	if len(data)-pos < 4 {
		return 0, false
	}
	var v rune
	for _, c := range data[pos : pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// number reads a number's literal, checked against the grammar.
func (r *Reader) number() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	r.space()
	start := r.pos
	d := r.data
	i := r.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		return nil, r.fail("not a number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			r.pos = i
			return nil, r.fail("invalid number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			r.pos = i
			return nil, r.fail("invalid number")
		}
	}
	r.pos = i
	return d[start:i], nil
}

// Int reads a number that is an integer of 64 bits.
func (r *Reader) Int() (int64, error) {
	lit, err := r.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return 0, errors.New("number " + string(lit) + " is not an integer of 64 bits")
	}
	return v, nil
}

// Uint reads a number that is an unsigned integer of 64 bits.
func (r *Reader) Uint() (uint64, error) {
	lit, err := r.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(lit), 10, 64)
	if err != nil {
		return 0, errors.New("number " + string(lit) + " is not an unsigned integer of 64 bits")
	}
	return v, nil
}

// Bool reads true or false.
func (r *Reader) Bool() (bool, error) {
	if r.err != nil {
		return false, r.err
	}
	switch r.peek() {
	case 't':
		return r.literal("true"), r.err
	case 'f':
		r.literal("false")
		return false, r.err
	}
	return false, r.fail("not a boolean")
}

// Raw reads any value and returns its bytes, for a decoder of its own.
func (r *Reader) Raw() ([]byte, error) {
	r.space()
	start := r.pos
	if err := r.Skip(); err != nil {
		return nil, err
	}
	return r.data[start:r.pos], nil
}

// Skip reads any value and drops it.
func (r *Reader) Skip() error {
	if r.err != nil {
		return r.err
	}
	switch r.peek() {
	case '{':
		return r.Members(func([]byte) error { return r.Skip() })
	case '[':
		return r.Array(r.Skip)
	case '"':
		_, err := r.String()
		return err
	case 't':
		r.literal("true")
	case 'f':
		r.literal("false")
	case 'n':
		r.literal("null")
	default:
		_, err := r.number()
		return err
	}
	return r.err
}

// End checks that nothing but white space is left.
func (r *Reader) End() error {
	if r.err != nil {
		return r.err
	}
	if r.peek() != 0 || r.pos < len(r.data) {
		return r.fail("invalid character after the top-level value")
	}
	return nil
}
