package service

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
)

// listen opens http.addr and, when set, http.unix_socket, as one listener.
//
// Why a Unix socket: a proxy on the same host (nginx in front of the
// replicas, as scripts/dev runs them) pays for every event it relays twice,
// once in the replica's write and once in its own read; over a Unix socket
// both skip the TCP/IP stack (and netfilter), which is most of their cost.
func listen(b Basics) (net.Listener, error) {
	tcp, err := net.Listen("tcp", b.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", b.HTTPAddr, err)
	}
	if b.UnixSocket == "" {
		return tcp, nil
	}
	unix, err := listenUnix(b.UnixSocket)
	if err != nil {
		tcp.Close()
		return nil, err
	}
	return merge(tcp, unix), nil
}

// listenUnix listens on path, replacing a stale socket a crashed process
// left (never a file that is not a socket), readable and writable by all:
// like a loopback port, what limits who connects is the directory.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("http.unix_socket %s exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("http.unix_socket %s: another process is serving on it", path)
		}
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("http.unix_socket %s: %w", path, err)
	}
	return ln, nil
}

// merged accepts from several listeners; its Addr is the first one's.
type merged struct {
	lns    []net.Listener
	conns  chan net.Conn
	errs   chan error
	done   chan struct{}
	closed sync.Once
}

func merge(lns ...net.Listener) net.Listener {
	m := &merged{lns: lns, conns: make(chan net.Conn), errs: make(chan error, len(lns)), done: make(chan struct{})}
	for _, ln := range lns {
		go m.accept(ln)
	}
	return m
}

func (m *merged) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue // transient (e.g. out of fds, as net/http would retry)
			}
			select {
			case m.errs <- err:
			case <-m.done:
			}
			return
		}
		select {
		case m.conns <- c:
		case <-m.done:
			c.Close()
			return
		}
	}
}

func (m *merged) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case err := <-m.errs:
		return nil, err
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *merged) Close() error {
	var err error
	m.closed.Do(func() {
		close(m.done)
		for _, ln := range m.lns {
			err = errors.Join(err, ln.Close())
		}
	})
	return err
}

func (m *merged) Addr() net.Addr { return m.lns[0].Addr() }
