package natsconn_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/herald-push/herald/services/kit/natstest"
)

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
	f := natstest.NewFreezer(t, ns.Addr().String())
	var logs strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	nc, err := natsconn.Connect(natsconn.Options{URL: f.URL(), PingInterval: 100 * time.Millisecond, MaxPingsOut: 2}, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	eventually(t, 10*time.Second, "connected", nc.IsConnected)
	if err := natsconn.Check(context.Background(), nc); err != nil {
		t.Fatalf("Check while healthy: %v", err)
	}

	f.Freeze()
	if err := natsconn.Check(context.Background(), nc); err == nil || !strings.Contains(err.Error(), "nats link stalled") {
		t.Errorf("Check while hung = %v, want a stalled link", err)
	}
	eventually(t, 10*time.Second, "the stale connection to be dropped", func() bool { return !nc.IsConnected() })
	f.Thaw()
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
