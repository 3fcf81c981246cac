// Package jsontext writes the pieces of JSON rawns builds by hand: its
// reports (--trace=json, --info-fd, --json-status-fd, the cgroup figures)
// are a few fixed keys, and linking encoding/json (reflection-driven
// encoders, their tables and init work) cost every `rawns run` about 8-10
// more page faults at start-up, measured, for reports that most runs never
// write (~12 µs each on the development VM).
package jsontext

import "unicode/utf8"

// AppendString appends s to b as a JSON string, byte for byte what
// encoding/json.Marshal produces for it: <, > and & as \u003c, \u003e and
// \u0026; \" \\ \b \f \n \r \t; other bytes below 0x20 as \u00xx; invalid
// UTF-8 as \ufffd; U+2028 and U+2029 as \u2028 and \u2029. The tests fuzz
// it against encoding/json.
func AppendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is still to be copied as is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other control bytes, and <, >, & (HTML-safe, like json.Marshal)
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
