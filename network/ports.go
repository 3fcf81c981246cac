package network

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// Reservation holds the host ports of a run's -p: a socket bound to each
// (and not listening), so that nothing else on the host can take a port
// the run forwards, and so that a port already taken is refused before
// anything starts. The kernel's DNAT acts before any socket lookup, so the
// bound socket never sees the forwarded traffic. The sockets close with
// rawns, however it exits.
type Reservation struct {
	fds []int
	// Proxy lists, per -p, the IPv6 TCP socket the helper may listen on
	// (-1 if none): Request.Proxies is made from it.
	Proxy []int
}

// Reserve binds each published port's host side: the address given, or
// 0.0.0.0 and [::] (IPv6 only, where the host has IPv6) for every
// address. probe only checks that each port is free, and closes the
// sockets: pasta binds them itself.
func Reserve(pubs []Publish, probe bool) (*Reservation, error) {
	r := &Reservation{Proxy: make([]int, len(pubs))}
	for i, p := range pubs {
		r.Proxy[i] = -1
		var addrs []Addr
		if p.HostIP.IsValid() {
			addrs = []Addr{p.HostIP}
		} else {
			addrs = []Addr{AddrFrom4([4]byte{}), AddrFrom16([16]byte{})}
		}
		for _, a := range addrs {
			fd, err := bindPort(a, p, probe)
			if err == unix.EAFNOSUPPORT && !p.HostIP.IsValid() {
				continue // no IPv6 on this host: [::] is nobody's
			}
			if err != nil {
				r.Close()
				return nil, portError(p, a, err)
			}
			if probe {
				unix.Close(fd)
				continue
			}
			r.fds = append(r.fds, fd)
			if !a.Is4() && p.Proto == TCP {
				r.Proxy[i] = fd
			}
		}
	}
	return r, nil
}

func bindPort(a Addr, p Publish, reuse bool) (int, error) {
	domain, typ := unix.AF_INET, unix.SOCK_STREAM
	if !a.Is4() {
		domain = unix.AF_INET6
	}
	if p.Proto == UDP {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	// An IPv6 TCP socket may become a listener (the helper's relay), and
	// a listener needs SO_REUSEADDR so that the connections it served,
	// in TIME_WAIT, do not keep the next run from binding the port. A
	// probe takes it too: only a listener then counts as in use. The
	// other reservations never listen, and bind without it, which keeps
	// out every later bind of the port.
	if reuse || !a.Is4() && p.Proto == TCP {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}
	var sa unix.Sockaddr
	if a.Is4() {
		sa = &unix.SockaddrInet4{Port: int(p.HostPort), Addr: a.As4()}
	} else {
		// Only IPv6: [::] must not take the IPv4 port, which the
		// 0.0.0.0 socket reserves (or which another address holds).
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
		sa = &unix.SockaddrInet6{Port: int(p.HostPort), Addr: a.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func portError(p Publish, a Addr, err error) error {
	where := a.String()
	if !a.Is4() {
		where = "[" + where + "]"
	}
	port := strconv.Itoa(int(p.HostPort)) + "/" + p.ProtoName()
	switch err {
	case unix.EADDRINUSE:
		return fmt.Errorf("-p %s: port %s is in use on %s; stop what holds it, or publish on another host port", p, port, where)
	case unix.EADDRNOTAVAIL:
		return fmt.Errorf("-p %s: %s is not an address of this host; give one of its addresses, or none for all", p, a)
	case unix.EACCES:
		return fmt.Errorf("-p %s: binding %s:%s needs privilege (ports below 1024, see net.ipv4.ip_unprivileged_port_start); publish on a higher host port", p, where, port)
	case unix.EAFNOSUPPORT:
		return fmt.Errorf("-p %s: this host has no IPv6", p)
	}
	return fmt.Errorf("-p %s: binding %s:%s: %v", p, where, port, err)
}

// Close closes the sockets.
func (r *Reservation) Close() {
	if r == nil {
		return
	}
	for _, fd := range r.fds {
		unix.Close(fd)
	}
	r.fds = nil
}
