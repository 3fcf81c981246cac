package oci

import (
	"fmt"
	"strconv"
)

// Error is a value of config.json that rawns refuses: Path is its JSON
// path as the runtime-spec names it ("linux.namespaces[2].type",
// "process.capabilities.bounding[0]"), Err says why and what to give.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// errorf makes an *Error at path.
func errorf(path, format string, a ...any) error {
	return &Error{Path: path, Err: fmt.Errorf(format, a...)}
}

// unsupported is the error of a field rawns does not implement; why says
// what it would take, or what to do instead.
func unsupported(path, why string) error {
	return &Error{Path: path, Err: fmt.Errorf("not supported by rawns (%s); remove it from config.json", why)}
}

// index appends [i] to a JSON path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
