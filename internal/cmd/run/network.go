package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/network"
	"github.com/rawns/rawns/trace"
)

// networkConcern: a network of the command's own (docs/network.md). The
// flags are checked here, in rawns; the host side of bridge mode runs in
// the rawns-net helper, which alone links the netlink and nftables
// libraries, so that a run without --network pays nothing for them.
var networkConcern = concern{
	title: "Network (docs/network.md)",
	help: `  --network MODE       host: the host's network (the default); none: a network
                       namespace with only lo, up; bridge: eth0 on a shared
                       bridge with an address, a default route, NAT and
                       published ports (root); pasta: user-mode networking
                       through pasta, or slirp4netns where pasta is missing
                       (no privilege needed on the host)
  -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]
                       forward the host's HOSTPORT (on IP, default every
                       address; an IPv6 IP in brackets) to the command's PORT;
                       repeatable; needs --network bridge or pasta
  --dns IP             nameserver of the command's resolv.conf (repeatable;
                       default the host's, without loopback ones)
  --bridge NAME        the bridge of --network bridge (default rawns0)
  --subnet CIDR        its subnet, IPv4 or IPv6, given to the bridge when rawns
                       creates it or adds that family (default 10.90.0.0/24;
                       once per family)
                       bridge and pasta bind a resolv.conf, hosts and hostname
                       of the run's own over /etc's, read-only (adds mnt)
`,
	flags: []cli.Def{
		{Name: "network", Kind: cli.String},
		{Name: "publish", Short: "p", Kind: cli.Repeated},
		{Name: "dns", Kind: cli.Repeated},
		{Name: "bridge", Kind: cli.String},
		{Name: "subnet", Kind: cli.Repeated},
	},
	parse: parseNetwork,
}

func parseNetwork(cfg *config, flags cli.Flags) error {
	s := &cfg.spec
	mode := network.Host
	if flags.Has("network") {
		var err error
		if mode, err = network.ParseMode(flags.Get("network", "")); err != nil {
			return fmt.Errorf("--network: %v", err)
		}
	}
	for _, f := range []string{"publish", "dns"} {
		if flags.Has(f) && mode != network.Bridge && mode != network.Pasta {
			flag := "--" + f
			if f == "publish" {
				flag = "-p"
			}
			return fmt.Errorf("%s needs a network of the command's own to reach: add --network bridge (root) or --network pasta", flag)
		}
	}
	for _, f := range []string{"bridge", "subnet"} {
		if flags.Has(f) && mode != network.Bridge {
			return fmt.Errorf("--%s is the bridge of --network bridge; add --network bridge", f)
		}
	}
	switch mode {
	case network.Host:
		if flags.Has("network") && s.Namespaces&clone.NewNet != 0 {
			return errors.New("--network host keeps the host's network, but --ns asks for a new one; drop net from --ns, or use --network none")
		}
		return nil
	case network.Bridge:
		if os.Geteuid() != 0 {
			return errors.New("--network bridge needs root: it creates a bridge, a veth pair and nft rules on the host; without root use --network pasta")
		}
	}
	if mode == network.Pasta && os.Geteuid() != 0 && s.Namespaces&clone.NewUser == 0 {
		return errors.New("--network pasta without root needs a user namespace to make the network namespace in: add --map-root-user (or user to --ns with --map-user)")
	}
	s.Namespaces |= clone.NewNet
	if mode == network.None {
		return nil // clone brings lo up in a new network namespace
	}
	// A bridge run without a user namespace of the clone's has its
	// namespace made and connected before the clone, which joins it
	// (startNetwork): any clone style does. Otherwise (pasta; a bridge in
	// the clone's user namespace, which must own the network namespace)
	// the child is connected while it waits before exec (Hold), which a
	// vfork-style parent, asleep until that exec, cannot do.
	if flags.Get("clone", "") == "vfork" && (mode != network.Bridge || s.Namespaces&clone.NewUser != 0) {
		return fmt.Errorf("--network %s connects the command's namespace while the command waits before exec, which a vfork-style clone forbids; drop --clone vfork", mode)
	}
	if s.Propagation == clone.PropagationShared {
		return fmt.Errorf("--network %s binds its own resolv.conf, hosts and hostname over /etc, which --propagation shared would carry to the host; use private or slave", mode)
	}
	o := &network.Options{Mode: mode, Bridge: flags.Get("bridge", network.DefaultBridge), Files: true}
	if err := network.ValidateLinkName(o.Bridge); err != nil {
		return fmt.Errorf("--bridge: %v", err)
	}
	for _, v := range flags.All("subnet") {
		p, err := network.ParsePrefix(v)
		if err == nil {
			err = network.CheckSubnet(p)
		}
		if err != nil {
			return fmt.Errorf("--subnet %s: %v", cli.Quote(v), err)
		}
		for _, q := range o.Subnets {
			if q.Addr.Is4() == p.Addr.Is4() {
				return fmt.Errorf("--subnet %s: a bridge has one subnet per family, and %s is given already", v, q)
			}
		}
		o.Subnets = append(o.Subnets, p)
	}
	for _, v := range flags.All("publish") {
		p, err := network.ParsePublish(v)
		if err != nil {
			return fmt.Errorf("-p %s: %v", cli.Quote(v), err)
		}
		if mode == network.Bridge && p.Proto == network.UDP && p.HostIP.IsValid() && !p.HostIP.Is4() && p.HostIP.IsLoopback() {
			return fmt.Errorf("-p %s: the kernel cannot forward ::1 to another namespace, and rawns relays only TCP there; publish on 127.0.0.1, or use --network pasta", v)
		}
		for _, q := range o.Publish {
			if q.HostPort == p.HostPort && q.Proto == p.Proto && (!q.HostIP.IsValid() || !p.HostIP.IsValid() || q.HostIP == p.HostIP) {
				return fmt.Errorf("-p %s: host port %d/%s is published twice", v, p.HostPort, p.ProtoName())
			}
		}
		o.Publish = append(o.Publish, p)
	}
	for _, v := range flags.All("dns") {
		a, err := network.ParseAddr(v)
		if err != nil {
			return fmt.Errorf("--dns %s: not an IPv4 or IPv6 address; give a nameserver's address, e.g. --dns 192.0.2.53", cli.Quote(v))
		}
		o.DNS = append(o.DNS, a)
	}
	cfg.net = o
	return nil
}

// netRun is the run's network, from before the clone to the end.
type netRun struct {
	o *network.Options
	r *network.Run
	// joined: the command is cloned into the namespace the helper made
	// (Options.NewNetns), whose id -v and --trace read in Hold, before
	// the child has joined it.
	joined trace.NSID
}

// startNetwork starts the network side before the clone (network.Start:
// the run directory, reserved ports, the bridge helper), and binds the
// run's files over /etc. In bridge mode the helper makes the command's
// namespace and connects it while rawns prepares the rest of the run
// (ready takes it before the clone); unless the clone makes a user
// namespace, which must own the network namespace too: then the clone
// makes it, and the held child is connected (Hold), as in pasta mode.
func startNetwork(cfg *config) (*netRun, error) {
	s := &cfg.spec
	o := cfg.net
	o.Hostname = s.Hostname
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname() // the command shares the host's
	}
	o.NewNetns = o.Mode == network.Bridge && s.Namespaces&clone.NewUser == 0
	r, err := network.Start(o)
	if err != nil {
		return nil, flagged(o.Mode, err)
	}
	n := &netRun{o: o, r: r}
	n.bindFiles(cfg)
	if !o.NewNetns {
		chainHold(s, func(h clone.Held) error {
			if err := r.Hold(h); err != nil {
				return flagged(o.Mode, err)
			}
			return nil
		})
	}
	return n, nil
}

// ready is the last step before the clone: with the helper's namespace
// (Options.NewNetns) it waits for the helper, and has the clone join that
// namespace in place of making one; done puts the spec back as asked
// (-v, --trace and --info-fd report on NewNet as the user gave it).
func (n *netRun) ready(s *clone.Spec) (done func(), err error) {
	if n == nil || !n.o.NewNetns {
		return func() {}, nil
	}
	fd, err := n.r.Ready()
	if err != nil {
		return nil, flagged(n.o.Mode, err)
	}
	if n.joined, err = trace.ReadNSFD(fd); err != nil {
		return nil, flagged(n.o.Mode, err)
	}
	s.Namespaces &^= clone.NewNet
	s.Join = append(s.Join, clone.Join{Kinds: clone.NewNet, FD: fd})
	return func() {
		s.Namespaces |= clone.NewNet
		s.Join = s.Join[:len(s.Join)-1]
	}, nil
}

// heldNamespaces reads a held child's namespaces, for -v and --trace: the
// network namespace it is about to join (ready) counts as its own.
func heldNamespaces(cfg *config, pid int) ([trace.NumKinds]trace.NSID, error) {
	ids, err := trace.ReadProcNS(pid)
	if n := cfg.netRun; err == nil && n != nil && !n.joined.Zero() {
		ids[trace.Net] = n.joined
	}
	return ids, err
}

// flagged prefixes an error with --network MODE unless it names a flag.
func flagged(m network.Mode, err error) error {
	if strings.HasPrefix(err.Error(), "-") {
		return err
	}
	return fmt.Errorf("--network %s: %w", m, err)
}

// bindFiles puts the run's resolv.conf, hosts and hostname first in the
// mount list, so that a later --bind of the user's over one of them wins.
// Read-only where the kernel has mount_setattr (5.12+); the files are the
// run's own copies either way. A --rootfs is never written to: a file its
// /etc lacks is not bound (--overlay makes the mount point in the upper
// layer), and -v says so.
func (n *netRun) bindFiles(cfg *config) {
	s := &cfg.spec
	if cfg.fs == nil {
		cfg.fs = &filesystem{}
	}
	var flags uintptr
	if kernel.AtLeast(5, 12) {
		flags = unix.MS_RDONLY
	} else {
		n.r.Notes = append(n.r.Notes, "the files are bound writable: read-only binds need Linux 5.12 (mount_setattr)")
	}
	var mounts []clone.Mount
	var labels []string
	for _, f := range network.FileTargets {
		if !targetExists(cfg, f[1]) {
			n.r.Notes = append(n.r.Notes, fmt.Sprintf("%s is not bound: the root has no %s, and rawns does not write to a --rootfs (add an empty file there, or --overlay)", f[1], f[1]))
			continue
		}
		mounts = append(mounts, clone.Mount{Kind: clone.MountBind, Source: n.r.Dir.File(f[0]), Target: f[1], Flags: flags})
		labels = append(labels, "--network "+n.o.Mode.String()+" ("+f[1]+")")
	}
	if len(mounts) == 0 {
		return
	}
	s.Namespaces |= clone.NewMount
	s.Mounts = append(mounts, s.Mounts...)
	cfg.fs.Mounts = s.Mounts
	cfg.fs.labels = append(labels, cfg.fs.labels...)
}

// targetExists says whether the child will find target: on the host's
// tree without a root, inside the root without an overlay (resolved as
// the child resolves it, RESOLVE_IN_ROOT), always over an overlay.
func targetExists(cfg *config, target string) bool {
	root := cfg.spec.Root
	if root == "" {
		_, err := os.Stat(target)
		return err == nil
	}
	if cfg.spec.Overlay || cfg.spec.OverlayDir != "" {
		return true
	}
	dfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat2(dfd, strings.TrimPrefix(target, "/"), &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// started removes the run directory: the command's binds hold the files.
func (n *netRun) started() {
	if n != nil {
		n.r.Started()
	}
}

// close undoes the run's network (network.Run.Close).
func (n *netRun) close() {
	if n != nil {
		n.r.Close()
	}
}

// printVerbose is -v's account of the network.
func (n *netRun) printVerbose(w io.Writer) {
	r := n.r
	switch {
	case r.Reply != nil:
		for i, a := range r.Reply.Addrs {
			fmt.Fprintf(w, "rawns: network bridge %s: eth0 %s via %s (host end %s)\n", n.o.Bridge, a, r.Reply.Gateways[i], r.Reply.Link)
		}
		by := "rawns itself (the bridge, the sysctls and the masquerade were in place)"
		if !r.Direct {
			by = "rawns-net"
		}
		fmt.Fprintf(w, "rawns: network bridge connected by %s\n", by)
		fmt.Fprintf(w, "rawns: masquerade: chain %s of nft table inet %s, shared by the bridge's runs\n", network.NATChain(n.o.Bridge), network.BaseTable)
		if r.Reply.Table != "" {
			owner := "owned by a socket rawns holds: it dies with rawns"
			if !r.Reply.Owned {
				owner = "deleted by rawns-net when rawns is gone (no NFT_TABLE_F_OWNER before Linux 5.12)"
			}
			fmt.Fprintf(w, "rawns: nft table inet %s (published ports), %s\n", r.Reply.Table, owner)
		}
	case r.Via != "":
		fmt.Fprintf(w, "rawns: network pasta: connected through %s\n", r.Via)
	}
	for _, p := range n.o.Publish {
		fmt.Fprintf(w, "rawns: published %s\n", p)
	}
	for _, note := range r.Notes {
		fmt.Fprintf(w, "rawns: network: %s\n", note)
	}
}
