package natsconn_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/herald-push/herald/services/kit/testkit"
)

// TestHungServer: a server that stops answering without closing the
// connection makes Check fail at once (the ping round trip) and the client
// drop the connection as stale after max_pings_out missed pings, instead of
// nats.go's default of minutes; once the server answers again the client
// reconnects and Check passes.
func TestHungServer(t *testing.T) {
	ns := testkit.Core(t)
	f := testkit.NewFreezer(t, ns.Addr().String())
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
	testkit.Eventually(t, 10*time.Second, nc.IsConnected, "connected")
	if err := natsconn.Check(context.Background(), nc); err != nil {
		t.Fatalf("Check while healthy: %v", err)
	}

	f.Freeze()
	if err := natsconn.Check(context.Background(), nc); err == nil || !strings.Contains(err.Error(), "nats link stalled") {
		t.Errorf("Check while hung = %v, want a stalled link", err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return !nc.IsConnected() }, "the stale connection to be dropped")
	f.Thaw()
	testkit.Eventually(t, 10*time.Second, nc.IsConnected, "reconnected")
	testkit.Eventually(t, 10*time.Second, func() bool { return natsconn.Check(context.Background(), nc) == nil }, "Check to pass")
	// nats.go logs through callbacks on its own goroutine: the reconnect
	// line may come after IsConnected and Check see the new connection.
	logged := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.String()
	}
	for _, want := range []string{"nats disconnected", "stale connection", "nats reconnected", "down_for="} {
		testkit.Eventually(t, 10*time.Second, func() bool { return strings.Contains(logged(), want) }, "%q in the log:\n%s", want, logged())
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
