package network

import (
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"8080:80", "0.0.0.0:8080->80/tcp"},
		{"127.0.0.1:8080:80", "127.0.0.1:8080->80/tcp"},
		{"127.0.0.1:8080:80/udp", "127.0.0.1:8080->80/udp"},
		{"[::1]:8080:80", "[::1]:8080->80/tcp"},
		{"[::]:8080:80/tcp", "0.0.0.0:8080->80/tcp"},
		{"0.0.0.0:1:65535", "0.0.0.0:1->65535/tcp"},
	} {
		p, err := ParsePublish(c.in)
		if err != nil || p.String() != c.want {
			t.Errorf("ParsePublish(%q) = %v, %v; want %s", c.in, p, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"80", "HOSTPORT:PORT"},
		{"0:80", "out of range"},
		{"8080:65536", "out of range"},
		{"8080:-1", "out of range"},
		{"8080:+80", "out of range"},
		{"x:80", "out of range"},
		{"8080:80/sctp", "give tcp or udp"},
		{"::1:8080:80", "brackets"},
		{"localhost:8080:80", "not an IP address"},
		{"[127.0.0.1]:8080:80", "not an IPv6 address"},
		{"[::1]8080:80", "brackets"},
		{"1:2:3:4", "[IP:]HOSTPORT:PORT"},
	} {
		_, err := ParsePublish(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParsePublish(%q) = %v; want an error with %q", c.in, err, c.want)
		}
	}
}

func TestParseModeAndNames(t *testing.T) {
	for _, m := range []Mode{Host, None, Bridge, Pasta} {
		if got, err := ParseMode(m.String()); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseMode("slirp"); err == nil || !strings.Contains(err.Error(), "none, host, bridge or pasta") {
		t.Errorf("ParseMode(slirp) = %v", err)
	}
	for _, ok := range []string{"rawns0", "br-1", "a"} {
		if err := ValidateLinkName(ok); err != nil {
			t.Errorf("ValidateLinkName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a b", "a:b", "sixteen-chars-xx"} {
		if err := ValidateLinkName(bad); err == nil {
			t.Errorf("ValidateLinkName(%q) accepted it", bad)
		}
	}
	for s, ok := range map[string]bool{"10.90.0.0/24": true, "10.90.0.1/24": false, "10.0.0.0/31": false, "10.0.0.0/7": false,
		"127.0.0.0/8": false, "224.0.0.0/8": false, "fd72:6177:6e73::/64": true, "fd72::/121": false, "ff00::/64": false, "fd00::/47": false} {
		p, err := ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSubnet(p); (err == nil) != ok {
			t.Errorf("CheckSubnet(%s) = %v", s, err)
		}
	}
}

func TestResolvConf(t *testing.T) {
	host := "# comment\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver fd00::53\nnameserver fe80::1%eth0\nsearch example.org\noptions edns0 trust-ad\n"
	conf, n, dropped := ResolvConf([]byte(host), nil, false)
	want := "# written by rawns run --network for this run\nnameserver 10.255.255.53\nsearch example.org\noptions edns0 trust-ad\n"
	if string(conf) != want || n != 1 || strings.Join(dropped, " ") != "127.0.0.53 fd00::53 fe80::1%eth0" {
		t.Errorf("ResolvConf = %q, %d, %q", conf, n, dropped)
	}
	if conf, n, _ := ResolvConf([]byte(host), nil, true); !strings.Contains(string(conf), "nameserver fd00::53\n") || n != 2 {
		t.Errorf("with IPv6 the IPv6 server stays: %q", conf)
	}
	dns, _ := ParseAddr("192.0.2.53")
	conf, n, _ = ResolvConf([]byte(host), []Addr{dns}, false)
	if !strings.Contains(string(conf), "nameserver 192.0.2.53\n") || strings.Contains(string(conf), "10.255.255.53") || n != 1 || !strings.Contains(string(conf), "search example.org") {
		t.Errorf("--dns replaces the servers and keeps search: %q", conf)
	}
	if strings.Contains(string(conf), "127.") {
		t.Errorf("a loopback server is left: %q", conf)
	}
	a, _ := ParseAddr("10.90.0.2")
	h := string(Hosts("web", []Addr{a}))
	if !strings.Contains(h, "127.0.0.1\tlocalhost\n") || !strings.Contains(h, "10.90.0.2\tweb\n") {
		t.Errorf("Hosts = %q", h)
	}
}

func TestWire(t *testing.T) {
	p1, _ := ParsePublish("127.0.0.1:8080:80")
	p2, _ := ParsePublish("[::1]:8081:81")
	p3, _ := ParsePublish("53:53/udp")
	sub, _ := ParsePrefix("fd72:6177:6e73::/64")
	req := &Request{Bridge: "rawns0", Subnets: []Prefix{DefaultSubnet, sub}, Publish: []Publish{p1, p2, p3}, Proxies: []int{1}, NewNetns: true}
	got, err := ParseRequest(req.Marshal())
	if err != nil || string(got.Marshal()) != string(req.Marshal()) {
		t.Fatalf("request round trip: %v\n%s\n%s", err, req.Marshal(), got.Marshal())
	}
	a, _ := ParsePrefix("10.90.0.2/24")
	rep := &Reply{Addrs: []Prefix{a}, Gateways: []Addr{DefaultSubnet.Nth(1)}, Link: "rn3-2", Table: "rawns-1-2", Owned: true}
	r2, err := ParseReply(rep.Marshal())
	if err != nil || string(r2.Marshal()) != string(rep.Marshal()) {
		t.Fatalf("reply round trip: %v\n%s", err, rep.Marshal())
	}
	r3, err := ParseReply((&Reply{Err: "--subnet x: overlaps\nsecond line"}).Marshal())
	if err != nil || r3.Err != "--subnet x: overlaps second line" {
		t.Fatalf("error reply: %+v %v", r3, err)
	}
	for _, bad := range []string{"bridge\n", "publish sctp * 1 2\nbridge b\n", "proxy 0\nbridge b\n", "subnet 10.0.0.0/99\nbridge b\n"} {
		if _, err := ParseRequest([]byte(bad)); err == nil {
			t.Errorf("ParseRequest(%q) accepted it", bad)
		}
	}
}
