package trace

import (
	"encoding/json"
	"errors"
	"strings"
)

// The lines of the exec-helper protocol between rawns and `rawns-trace
// exec-helper` (documented in cmd/rawns-trace). Each line ends in "\n".
const (
	// HelperReady is the helper's first line once the tracer is attached.
	HelperReady = "ready"
	// HelperErrorPrefix starts an error line: "error " and a HelperError
	// as JSON.
	HelperErrorPrefix = "error "
)

// HelperError is the payload of an error line of the exec helper.
type HelperError struct {
	// Reason classifies the error: "permission", "no-btf", "unsupported"
	// (the kernel side cannot be set up), "usage" (bad flags or a bad pid
	// line), "timeout" (no exec event in time), "closed", or "" (other).
	Reason string `json:"reason,omitempty"`
	// Message is the error as the helper would print it, one line, e.g.
	// "trace: load tp_btf/sched_process_exec: needs root or CAP_BPF+CAP_PERFMON: ...".
	Message string `json:"message"`
}

func (e *HelperError) Error() string { return e.Message }

// HelperErrorLine returns the error line for reason and msg, without the
// newline.
func HelperErrorLine(reason, msg string) string {
	b, err := json.Marshal(HelperError{Reason: reason, Message: strings.ReplaceAll(msg, "\n", "; ")})
	if err != nil {
		panic(err) // two strings: cannot fail
	}
	return HelperErrorPrefix + string(b)
}

// ParseHelperLine decodes one line (with or without its newline) of the exec
// helper's answer to a pid: an ExecEvent as JSON, or an error line, returned
// as a *HelperError.
func ParseHelperLine(line string) (ExecEvent, error) {
	line = strings.TrimRight(line, "\n")
	if rest, ok := strings.CutPrefix(line, HelperErrorPrefix); ok {
		var he HelperError
		if err := json.Unmarshal([]byte(rest), &he); err != nil || he.Message == "" {
			return ExecEvent{}, &HelperError{Message: "exec helper: " + rest}
		}
		return ExecEvent{}, &he
	}
	if !strings.HasPrefix(line, "{") {
		return ExecEvent{}, errors.New("exec helper: unexpected line " + quote(line))
	}
	var ev ExecEvent
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		return ExecEvent{}, errors.New("exec helper: bad event line: " + err.Error())
	}
	return ev, nil
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
