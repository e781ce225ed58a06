// Package testkit is what the tests of every Herald module share: an embedded
// NATS server (JetStream in a temporary store, restartable on the same port and
// store), a polling Eventually, and a Freezer that makes a NATS link hang.
// The SSE test client is its subpackage ssetest. Only tests import it.
package testkit

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS is an embedded NATS server on a loopback port, shut down when the test
// ends. Stop and Start (or Restart) bring it back on the same port and store,
// as a restart in production would.
type NATS struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// JetStream starts an embedded JetStream server on a free loopback port with
// its store in a fresh t.TempDir(); it is shut down when the test ends.
func JetStream(t testing.TB) *server.Server {
	t.Helper()
	return StartNATS(t, &server.Options{JetStream: true}).Server()
}

// Core starts an embedded core NATS server (no JetStream) on a free loopback
// port; it is shut down when the test ends.
func Core(t testing.TB) *server.Server {
	t.Helper()
	return StartNATS(t, nil).Server()
}

// StartNATS starts an embedded server with opts (nil: core NATS). Host ""
// is 127.0.0.1, Port 0 or -1 a free port (kept across restarts), a JetStream
// server without StoreDir gets a fresh t.TempDir(); logging and signal
// handling are always off.
func StartNATS(t testing.TB, opts *server.Options) *NATS {
	t.Helper()
	n := &NATS{t: t}
	if opts != nil {
		n.opts = *opts
	}
	if n.opts.Host == "" {
		n.opts.Host = "127.0.0.1"
	}
	if n.opts.Port == 0 {
		n.opts.Port = -1
	}
	if n.opts.JetStream && n.opts.StoreDir == "" {
		n.opts.StoreDir = t.TempDir()
	}
	n.opts.NoLog, n.opts.NoSigs = true, true
	n.Start()
	n.opts.Port = n.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(n.Stop)
	return n
}

// Server is the running server (for its ClientURL, varz, connz, ...).
func (n *NATS) Server() *server.Server { return n.srv }

// URL is the client URL of the server (the same across restarts).
func (n *NATS) URL() string {
	return "nats://" + net.JoinHostPort(n.opts.Host, strconv.Itoa(n.opts.Port))
}

// Start starts the server (again, after Stop) and waits until it accepts
// connections.
func (n *NATS) Start() {
	n.t.Helper()
	opts := n.opts // the server keeps and changes its options
	s, err := server.NewServer(&opts)
	if err != nil {
		n.t.Fatalf("starting nats: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats did not become ready")
	}
	n.srv = s
}

// Stop shuts the server down and waits until it is gone (idempotent).
func (n *NATS) Stop() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// Restart stops the server and starts it again on the same port and store.
func (n *NATS) Restart() {
	n.t.Helper()
	n.Stop()
	n.Start()
}

// Eventually polls cond until it holds, failing the test with the message
// format, args if d passes first. The sleep is a polling interval, never a
// wait for the condition itself.
func Eventually(t testing.TB, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
