package natsconn_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/herald-push/herald/services/kit/natsconn"
)

// freezer is a TCP proxy that can stop forwarding without closing anything:
// what a SIGSTOPped server or a black-holed link looks like to a client.
type freezer struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	frozen   chan struct{} // non-nil while frozen; closed to thaw
}

func newFreezer(t *testing.T, upstream string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close(); f.thaw() })
	go f.serve()
	return f
}

func (f *freezer) addr() string { return f.ln.Addr().String() }

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen == nil {
		f.frozen = make(chan struct{})
	}
}

func (f *freezer) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen != nil {
		close(f.frozen)
		f.frozen = nil
	}
}

// wait blocks while the proxy is frozen.
func (f *freezer) wait() {
	f.mu.Lock()
	ch := f.frozen
	f.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (f *freezer) serve() {
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

func (f *freezer) pipe(dst, src net.Conn) {
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

func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

func eventually(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHungServer: a server that stops answering without closing the
// connection makes Check fail at once (the ping round trip) and the client
// drop the connection as stale after max_pings_out missed pings, instead of
// nats.go's default of minutes; once the server answers again the client
// reconnects and Check passes.
func TestHungServer(t *testing.T) {
	ns := startNATS(t)
	f := newFreezer(t, ns.Addr().String())
	var logs strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	nc, err := natsconn.Connect(natsconn.Options{URL: "nats://" + f.addr(), PingInterval: 100 * time.Millisecond, MaxPingsOut: 2}, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	eventually(t, 10*time.Second, "connected", nc.IsConnected)
	if err := natsconn.Check(context.Background(), nc); err != nil {
		t.Fatalf("Check while healthy: %v", err)
	}

	f.freeze()
	if err := natsconn.Check(context.Background(), nc); err == nil || !strings.Contains(err.Error(), "nats link stalled") {
		t.Errorf("Check while hung = %v, want a stalled link", err)
	}
	eventually(t, 10*time.Second, "the stale connection to be dropped", func() bool { return !nc.IsConnected() })
	f.thaw()
	eventually(t, 10*time.Second, "reconnected", nc.IsConnected)
	eventually(t, 10*time.Second, "Check to pass", func() bool { return natsconn.Check(context.Background(), nc) == nil })
	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{"nats disconnected", "stale connection", "nats reconnected", "down_for="} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

// TestDefaults: unset options get the documented defaults, not nats.go's.
func TestDefaults(t *testing.T) {
	d := natsconn.Default()
	if d.PingInterval != 5*time.Second || d.MaxPingsOut != 2 || d.URL != "nats://127.0.0.1:4222" {
		t.Errorf("Default() = %+v", d)
	}
	names := map[string]bool{}
	for _, k := range natsconn.Keys() {
		names[k.Name] = true
	}
	for _, want := range []string{"nats.url", "nats.ping_interval", "nats.max_pings_out"} {
		if !names[want] {
			t.Errorf("Keys() lacks %s", want)
		}
	}
}
