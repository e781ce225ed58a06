package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-push/herald/services/kit/auth/authtest"
	"github.com/herald-push/herald/services/stream/app"
	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// testApp is one stream service running in-process on a real listener.
type testApp struct {
	*app.App
	base   string // http://127.0.0.1:port
	cancel context.CancelFunc
	errc   chan error
	once   sync.Once
}

// env is a NATS server with the event stream and a publisher.
type env struct {
	nats *streamtest.NATS
	js   jetstream.JetStream
}

func newEnv(t testing.TB, sc jetstream.StreamConfig) *env {
	t.Helper()
	n := streamtest.StartNATS(t)
	_, js := n.Connect(t)
	streamtest.CreateStream(t, js, sc)
	return &env{nats: n, js: js}
}

func testLogger() *slog.Logger {
	if os.Getenv("HERALD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startApp runs an App against natsURL with the defaults changed by mod, and
// waits for it to be ready unless the stream does not exist yet.
func startApp(t testing.TB, natsURL string, waitReady bool, mod func(*config.Config)) *testApp {
	t.Helper()
	return startAppLog(t, natsURL, waitReady, testLogger(), mod)
}

// startAppLog is startApp logging to log.
func startAppLog(t testing.TB, natsURL string, waitReady bool, log *slog.Logger, mod func(*config.Config)) *testApp {
	t.Helper()
	cfg := config.Default()
	cfg.NATS.URL = natsURL
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ShutdownGrace = 5 * time.Second
	// The default grants nothing (fail closed); these tests are about
	// everything else: anonymous clients may subscribe to anything, and
	// tokens signed with authtest.Secret are accepted.
	cfg.Auth.AnonymousSubscribe = []string{">"}
	cfg.Auth.HMACSecret = authtest.Secret
	if mod != nil {
		mod(&cfg)
	}
	a, err := app.New(cfg, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testApp{App: a, base: "http://" + ln.Addr().String(), cancel: cancel, errc: make(chan error, 1)}
	go func() { ta.errc <- a.Run(ctx, ln) }()
	t.Cleanup(func() { ta.stop(t) })
	if waitReady {
		ta.waitStatus(t, "/readyz", http.StatusOK)
	}
	return ta
}

// stop takes the SIGTERM path and waits for Run to return (idempotent).
func (a *testApp) stop(t testing.TB) {
	t.Helper()
	a.once.Do(func() {
		a.cancel()
		select {
		case err := <-a.errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return after shutdown")
		}
	})
}

func (a *testApp) waitStatus(t testing.TB, path string, status int) {
	t.Helper()
	eventually(t, 10*time.Second, func() bool {
		resp, err := http.Get(a.base + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == status
	}, "GET %s → %d", path, status)
}

// streamURL builds /stream?channel=…&channel=….
func (a *testApp) streamURL(channels ...string) string {
	q := url.Values{}
	for _, c := range channels {
		q.Add("channel", c)
	}
	return a.base + "/stream?" + q.Encode()
}

// open connects and consumes the opening retry and herald.connected frames.
func (a *testApp) open(t testing.TB, hdr http.Header, channels ...string) (*streamtest.Client, string) {
	t.Helper()
	c := streamtest.Dial(t, a.streamURL(channels...), hdr)
	if c.Resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(c.Resp.Body)
		t.Fatalf("GET /stream: %d %s", c.Resp.StatusCode, b)
	}
	it, ok := c.Next(5*time.Second, "event")
	if !ok || it.Type != "herald.connected" {
		t.Fatalf("first event = %+v, %v; want herald.connected", it, ok)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(it.Data, `{"connection_id":"`), `"`)
	return c, id
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: "+format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// expectEvents reads events and checks their ids and data exactly.
func expectEvents(t testing.TB, c *streamtest.Client, want []streamtest.Item) {
	t.Helper()
	for i, w := range want {
		got, ok := c.Next(5 * time.Second)
		if !ok {
			t.Fatalf("event %d: stream ended or timed out; want %+v", i, w)
		}
		if got.ID != w.ID || got.Type != w.Type || got.Data != w.Data || got.HasID != w.HasID {
			t.Fatalf("event %d = %+v\nwant %+v", i, got, w)
		}
	}
}

// ev is the item a published event becomes on the stream.
func ev(seq uint64, ch, typ, data string) streamtest.Item {
	id := strconv.FormatUint(seq, 10)
	t := typ
	if t == "" {
		t = "message"
	}
	return streamtest.Item{Kind: "event", ID: id, HasID: true, Type: t, Data: streamtest.Envelope(ch, typ, data)}
}

func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }

var probeN atomic.Int64

// natsMatches asks a real NATS server whether a message on channel name
// reaches a subscription on any of patterns: the oracle the stream's
// wildcard matching must agree with.
func natsMatches(t testing.TB, nc *nats.Conn, patterns []string, name string) bool {
	t.Helper()
	prefix := "probe." + strconv.FormatInt(probeN.Add(1), 10) + "."
	ch := make(chan *nats.Msg, 64)
	for _, p := range patterns {
		sub, err := nc.ChanSubscribe(prefix+p, ch)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
	}
	if err := nc.Publish(prefix+name, nil); err != nil {
		t.Fatal(err)
	}
	// The server answers the flush's PING after delivering the message
	// to this same connection.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return len(ch) > 0
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range strings.Split(sub, `\|`) {
			if strings.Contains(l, p) && !strings.HasPrefix(l, "#") {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
