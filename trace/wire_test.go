package trace

import (
	"errors"
	"strings"
	"testing"
)

func TestExecEventJSONRoundTrip(t *testing.T) {
	_, _, ev := fakeViews(KindsFromCloneFlags(CloneNewPID | CloneNewUTS))
	ev.NS[Time] = NSID{}                    // a kind the kernel lacks
	ev.NS[Cgroup] = NSID{Inode: 4026531835} // no ns_id
	ev.Filename = "/bin/odd \"name\"\n"
	b, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "\n") {
		t.Fatalf("not one line: %q", b)
	}
	if strings.Contains(string(b), `"time"`) {
		t.Errorf("a zero NSID was sent: %s", b)
	}
	got, err := ParseHelperLine(string(b) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != ev {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, ev)
	}
	if !strings.HasPrefix(string(b), `{"host-pid":4242,"ns-pid":1,"ns-level":1,"comm":"true",`) {
		t.Errorf("wire keys changed: %s", b)
	}
}

func TestParseHelperLine(t *testing.T) {
	line := HelperErrorLine("timeout", "no exec event\nfor pid 7")
	if !strings.HasPrefix(line, HelperErrorPrefix) || strings.Contains(line, "\n") {
		t.Fatalf("error line %q", line)
	}
	_, err := ParseHelperLine(line + "\n")
	var he *HelperError
	if !errors.As(err, &he) || he.Reason != "timeout" || he.Message != "no exec event; for pid 7" {
		t.Fatalf("error line parsed as %v (%#v)", err, he)
	}
	// A non-JSON error line still carries its text.
	if _, err := ParseHelperLine("error something broke"); err == nil || !strings.Contains(err.Error(), "something broke") {
		t.Errorf("plain error line: %v", err)
	}
	for _, bad := range []string{"", "ready", "42", `{"ns":{"bogus":{"inode":1}}}`, `{"host-pid":"x"}`} {
		if _, err := ParseHelperLine(bad); err == nil {
			t.Errorf("ParseHelperLine(%q): no error", bad)
		}
	}
}
