package e2e_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/proto/channel"
	streamapp "github.com/herald-push/herald/services/stream/app"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// TestRefusedEventSourceKeepsRetrying: a native EventSource refused by a
// replica at sse.max_connections (200 text/event-stream, retry:, close)
// stays in CONNECTING and retries, and connects once a slot frees. A 503
// would have closed it for good (readyState 2).
func TestRefusedEventSourceKeepsRetrying(t *testing.T) {
	ctx := browser.New(t)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: channel.StreamName, Subjects: []string{channel.StreamSubjects}}); err != nil {
		t.Fatal(err)
	}

	cfg := streamconfig.Default()
	cfg.NATS.URL = ns.ClientURL()
	cfg.Auth.AnonymousSubscribe = []string{"room"} // auth fails closed by default
	cfg.MaxConnections = 1
	cfg.Retry = 200 * time.Millisecond
	cfg.Heartbeat = 100 * time.Millisecond // the freed slot is noticed at the next write
	cfg.ShutdownGrace = 2 * time.Second
	a, err := streamapp.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx, ln) }()
	t.Cleanup(func() { stop(); <-done })

	// The one slot is taken (retrying until the replica is ready).
	var hold *http.Response
	deadline := time.Now().Add(10 * time.Second)
	for hold == nil {
		resp, err := http.Get(base + "/stream?channel=room")
		if err == nil && resp.StatusCode == 200 && a.Connections() == 1 {
			hold = resp
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("could not open the first stream")
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}

	browser.Navigate(t, ctx, base+"/healthz") // same origin as /stream: no CORS
	browser.Eval[chromedp.Void](t, ctx, `window.log = []; window.es = new EventSource('/stream?channel=room');
		es.onerror = () => log.push('error:' + es.readyState);
		es.addEventListener('herald.connected', () => log.push('connected'));`)
	describe := `JSON.stringify({readyState: es.readyState, log})`
	browser.WaitFor(t, ctx, `log.filter(x => x.startsWith('error')).length >= 3`, describe, 15*time.Second)
	if st := browser.Eval[int](t, ctx, `es.readyState`); st == 2 {
		t.Fatalf("the refused EventSource closed for good: %s", browser.Eval[string](t, ctx, describe))
	}
	hold.Body.Close()
	browser.WaitFor(t, ctx, `log.includes('connected')`, describe, 15*time.Second)
	t.Logf("observed: %s", browser.Eval[string](t, ctx, describe))

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(m), `herald_stream_refusals_total{reason="max_connections"}`) {
		t.Error("no refusal counted")
	}
}
