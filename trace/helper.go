package trace

import (
	"errors"
	"strconv"
	"strings"
)

// The lines of the exec-helper protocol between rawns and `rawns-trace
// exec-helper` (documented in cmd/rawns-trace). Each line ends in "\n". The
// lines are plain text, not JSON, so that rawns need not link encoding/json
// to read them (see appendJSONString).
const (
	// HelperReady is the helper's first line once the tracer is attached.
	HelperReady = "ready"
	// HelperErrorPrefix starts an error line (HelperErrorLine):
	// "error REASON MESSAGE".
	HelperErrorPrefix = "error "
)

// HelperError is the payload of an error line of the exec helper.
type HelperError struct {
	// Reason classifies the error: "permission", "no-btf", "unsupported"
	// (the kernel side cannot be set up), "usage" (bad flags or a bad pid
	// line), "timeout" (no exec event in time), "closed", or "" (other).
	Reason string
	// Message is the error as the helper would print it, one line, e.g.
	// "trace: load tp_btf/sched_process_exec: needs root or CAP_BPF+CAP_PERFMON: ...".
	Message string
}

func (e *HelperError) Error() string { return e.Message }

// HelperErrorLine returns the error line for reason and msg, without the
// newline:
//
//	error timeout "no exec of pid 7 within 5s"
//
// The reason is a bare word, "-" when empty; bytes of it other than
// letters, digits, '-', '_' and '.' become '_' (HelperError's reasons are
// all words; this only keeps the line parseable). The message is
// strconv.Quote'd, its newlines replaced by "; " first.
func HelperErrorLine(reason, msg string) string {
	b := make([]byte, 0, len(HelperErrorPrefix)+len(reason)+len(msg)+8)
	b = append(b, HelperErrorPrefix...)
	if reason == "" {
		b = append(b, '-')
	}
	for i := 0; i < len(reason); i++ {
		c := reason[i]
		if !isWordByte(c) {
			c = '_'
		}
		b = append(b, c)
	}
	b = append(b, ' ')
	b = strconv.AppendQuote(b, strings.ReplaceAll(msg, "\n", "; "))
	return string(b)
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// ParseHelperLine decodes one line (with or without its newline) of the exec
// helper's answer to a pid: an event line (ExecEvent.AppendWire), or an
// error line (HelperErrorLine), returned as a *HelperError. An error line
// that does not parse, or has an empty message, still becomes a
// *HelperError, with its text as the message.
func ParseHelperLine(line string) (ExecEvent, error) {
	line = strings.TrimRight(line, "\n")
	if rest, ok := strings.CutPrefix(line, HelperErrorPrefix); ok {
		if he, ok := parseHelperError(rest); ok {
			return ExecEvent{}, he
		}
		return ExecEvent{}, &HelperError{Message: "exec helper: " + rest}
	}
	rest, ok := strings.CutPrefix(line, HelperEventPrefix)
	if !ok {
		return ExecEvent{}, errors.New("exec helper: unexpected line " + quote(line))
	}
	ev, err := parseWire(rest)
	if err != nil {
		return ExecEvent{}, errors.New("exec helper: bad event line: " + err.Error())
	}
	return ev, nil
}

// parseHelperError decodes "REASON MESSAGE", the rest of an error line.
func parseHelperError(s string) (*HelperError, bool) {
	reason, msg, ok := strings.Cut(s, " ")
	if !ok || reason == "" {
		return nil, false
	}
	for i := 0; i < len(reason); i++ {
		if !isWordByte(reason[i]) {
			return nil, false
		}
	}
	if reason == "-" {
		reason = ""
	}
	if !strings.HasPrefix(msg, `"`) { // not a `raw` string or a 'c' rune
		return nil, false
	}
	msg, err := strconv.Unquote(msg)
	if err != nil || msg == "" {
		return nil, false
	}
	return &HelperError{Reason: reason, Message: msg}, true
}

// quote quotes s, cut to 80 bytes, for an error message.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}
