package trace

import "github.com/rawns/rawns/internal/jsontext"

// appendJSONString appends s to b as a JSON string, as encoding/json would
// (jsontext.AppendString): this package builds its reports by hand, so
// that rawns, which imports it, need not link encoding/json.
func appendJSONString(b []byte, s string) []byte { return jsontext.AppendString(b, s) }
