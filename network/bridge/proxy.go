package bridge

import (
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/network"
)

// NeedsProxy reports whether the helper must relay the IPv6 TCP port of p
// itself: the kernel cannot route ::1 out of lo (a DNAT of it to the
// bridge is dropped), and cannot DNAT an IPv6 address to a command that
// has none (then every IPv6 connection is relayed, to its IPv4 address).
// Connections that a DNAT rule takes never reach the relay's socket.
func NeedsProxy(p network.Publish, addrs []network.Prefix) bool {
	if p.Proto != network.TCP || p.HostIP.IsValid() && p.HostIP.Is4() {
		return false
	}
	if p.HostIP.IsValid() && p.HostIP.IsLoopback() || !p.HostIP.IsValid() {
		return true // ::1 itself, or [::], which receives only what no DNAT took: ::1
	}
	for _, a := range addrs {
		if !a.Addr.Is4() {
			return false
		}
	}
	return true
}

// Proxy relays the connections accepted on a host socket to the
// command's port, as docker-proxy does: a userspace copy, used only where
// the kernel cannot forward.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
}

// NewProxy listens on fd (a bound socket rawns reserved) and relays to
// addr:port.
func NewProxy(fd int, addr network.Addr, port uint16) (*Proxy, error) {
	if err := unix.Listen(fd, 128); err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "proxy")
	ln, err := net.FileListener(f) // a dup of fd
	f.Close()
	if err != nil {
		return nil, err
	}
	return &Proxy{ln: ln, target: net.JoinHostPort(addr.String(), strconv.Itoa(int(port)))}, nil
}

// Serve accepts until Close.
func (p *Proxy) Serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.relay(c)
		}()
	}
}

func (p *Proxy) relay(c net.Conn) {
	defer c.Close()
	d, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		return
	}
	defer d.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(d, c) // splice(2) between the two TCP sockets
		d.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, d)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

// Close stops accepting; relays in progress end with their connections.
func (p *Proxy) Close() { p.ln.Close() }
