package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigFile is the name of the configuration in a bundle (bundle.md).
const ConfigFile = "config.json"

// Load reads bundle/config.json. bundle must be an absolute path (the
// state records it for the hooks and for `state`). Errors name the file
// and, for a value of the wrong type, its JSON path; for broken JSON, the
// line and column.
//
// Unknown properties are ignored, as config.md requires of every
// implementation ("MUST NOT generate an error if they encounter an unknown
// property"); a known property rawns cannot honour is Convert's error.
func Load(bundle string) (*specs.Spec, error) {
	st, err := os.Stat(bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %v; give the bundle's directory with --bundle", bundle, unwrapPath(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("bundle %s is not a directory; give the directory that holds config.json", bundle)
	}
	name := filepath.Join(bundle, ConfigFile)
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v; a bundle holds its config.json (rawns-oci spec writes one)", name, unwrapPath(err))
	}
	return Parse(name, data)
}

// Parse decodes a config.json's bytes; name is what errors call the file.
// It decodes what json.Unmarshal into a specs.Spec would, at a fraction of
// its start-up cost (decode.go says why); data must not change while it
// runs.
func Parse(name string, data []byte) (*specs.Spec, error) {
	s, ok := decodeFast(data)
	if !ok {
		s = new(specs.Spec)
		if err := decodeSpec(data, s); err != nil {
			return nil, jsonError(name, data, err)
		}
	}
	if s.Version == "" {
		return nil, fmt.Errorf("%s: ociVersion is missing; give the runtime-spec version the file follows, e.g. %q", name, specs.Version)
	}
	if !strings.HasPrefix(s.Version, "1.") {
		return nil, fmt.Errorf("%s: ociVersion %q: rawns runs configurations of runtime-spec 1.x", name, s.Version)
	}
	return s, nil
}

// jsonError words a decoding error in one line: where, and what.
func jsonError(name string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input":
		return fmt.Errorf("%s: invalid JSON: it ends early (a missing } or ], or an unclosed string)", name)
	case errors.As(err, &syn):
		// Offset counts the bytes read, the offending one included.
		line, col := position(data, syn.Offset-1)
		return fmt.Errorf("%s: invalid JSON at line %d, column %d: %v", name, line, col, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the top level"
		}
		line, col := position(data, typ.Offset)
		return fmt.Errorf("%s: %s: a JSON %s where %s belongs (line %d, column %d)", name, field, typ.Value, goTypeWord(typ.Type.String()), line, col)
	}
	return fmt.Errorf("%s: %v", name, err)
}

// goTypeWord names the JSON a Go type takes.
func goTypeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "specs."), strings.HasPrefix(t, "*specs."):
		return "an object"
	case t == "string" || strings.HasSuffix(t, "Type") || strings.HasSuffix(t, "Action"):
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "uint"):
		return "a whole number of at least 0 (" + t + ")"
	case strings.HasPrefix(t, "int"):
		return "a whole number (" + t + ")"
	}
	return "a " + t
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
