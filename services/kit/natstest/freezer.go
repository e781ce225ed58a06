// Package natstest helps tests put NATS in the states production meets: a
// Freezer is a TCP proxy that stops forwarding without closing anything, which
// is what a SIGSTOPped server or a black-holed link looks like to a client.
package natstest

import (
	"net"
	"sync"
	"testing"
)

// Freezer forwards connections to an upstream address until frozen.
type Freezer struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	frozen   chan struct{} // non-nil while frozen; closed to thaw
}

// NewFreezer listens on a free loopback port and forwards to upstream
// (host:port) until the test ends.
func NewFreezer(t testing.TB, upstream string) *Freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Freezer{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close(); f.Thaw() })
	go f.serve()
	return f
}

// URL is the proxy's nats:// URL.
func (f *Freezer) URL() string { return "nats://" + f.ln.Addr().String() }

// Freeze stops forwarding in both directions; sockets stay open.
func (f *Freezer) Freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen == nil {
		f.frozen = make(chan struct{})
	}
}

// Thaw forwards again, including what was held back.
func (f *Freezer) Thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen != nil {
		close(f.frozen)
		f.frozen = nil
	}
}

func (f *Freezer) wait() {
	f.mu.Lock()
	ch := f.frozen
	f.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (f *Freezer) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", f.upstream)
		if err != nil {
			c.Close()
			continue
		}
		go f.pipe(c, u)
		go f.pipe(u, c)
	}
}

func (f *Freezer) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		f.wait() // frozen: what was read is held back, like a stopped process's socket buffer
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
