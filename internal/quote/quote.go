// Package quote is how rawns shows a name or a value in a one-line error:
// as it is, unless that would break the line or hide it. The CLI, the
// libraries under it and their callers all quote the same way, so that a
// user reads one style whichever layer found the fault.
package quote

import "strconv"

// Arg shows s as it is, or Go-quoted when it holds what would break the
// line (a newline, a NUL, any byte strconv.Quote escapes) or is empty.
func Arg(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s || s == "" {
		return q
	}
	return s
}
