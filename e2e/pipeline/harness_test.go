// Package pipeline holds the end-to-end tests of the whole event path run
// in-process: a real embedded NATS JetStream server, the real api and stream
// services (their app packages, exactly what the binaries run) on real
// loopback listeners, and HTTP clients on both sides — POST to publish, an
// SSE client that parses by the WHATWG rules to receive.
package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	apiapp "github.com/herald-push/herald/services/api/app"
	apiconfig "github.com/herald-push/herald/services/api/config"
	streamapp "github.com/herald-push/herald/services/stream/app"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// quiet is the services' logger in tests: only errors, to keep -v readable.
func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// natsServer is an embedded JetStream server that can be restarted on the
// same port and store directory, as a NATS restart in production would.
type natsServer struct {
	t    *testing.T
	dir  string
	port int
	srv  *server.Server
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	n := &natsServer{t: t, dir: t.TempDir(), port: -1}
	n.start()
	n.port = n.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { n.srv.Shutdown(); n.srv.WaitForShutdown() })
	return n
}

func (n *natsServer) start() {
	n.t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		n.t.Fatalf("creating nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats server not ready")
	}
	n.srv = s
}

// restart stops the server and starts a new one on the same port and store.
func (n *natsServer) restart(outage func()) {
	n.t.Helper()
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	if outage != nil {
		outage()
	}
	n.start()
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// service is one running api or stream instance.
type service struct {
	url    string
	cancel context.CancelFunc
	done   chan error

	once sync.Once
	err  error
}

// stop takes the SIGTERM path and waits for it to finish; later calls (the
// test's cleanup) return at once.
func (s *service) stop(t *testing.T) {
	t.Helper()
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(30 * time.Second):
			s.err = fmt.Errorf("did not stop within 30s")
		}
	})
	if s.err != nil {
		t.Errorf("service %s: %v", s.url, s.err)
	}
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	return ln
}

func serve(t *testing.T, ln net.Listener, run func(context.Context, net.Listener) error) *service {
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, ln) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

func startAPI(t *testing.T, natsURL string) *service {
	t.Helper()
	return startAPIWith(t, natsURL, nil)
}

// startAPIWith starts the api with its configuration changed by tune.
func startAPIWith(t *testing.T, natsURL string, tune func(*apiconfig.Config)) *service {
	t.Helper()
	cfg := apiconfig.Default()
	cfg.NATS.URL = natsURL
	// Auth fails closed by default; the pipeline tests grant anonymous
	// callers everything explicitly (auth is tested by the services'
	// hardening tests).
	cfg.Auth.AnonymousPublish, cfg.Auth.AnonymousSubscribe = []string{">"}, []string{">"}
	if tune != nil {
		tune(&cfg)
	}
	a, err := apiapp.New(cfg, quiet())
	if err != nil {
		t.Fatalf("starting api: %v", err)
	}
	s := serve(t, listen(t, "127.0.0.1:0"), a.Run)
	waitReady(t, s.url)
	return s
}

// startStream starts a stream instance on addr ("127.0.0.1:0" for any port).
func startStream(t *testing.T, natsURL, addr string, tune func(*streamconfig.Config)) *service {
	t.Helper()
	cfg := streamconfig.Default()
	cfg.NATS.URL = natsURL
	cfg.ShutdownGrace = 5 * time.Second
	cfg.Retry = 10 * time.Millisecond
	cfg.Auth.AnonymousSubscribe = []string{">"} // see startAPI
	if tune != nil {
		tune(&cfg)
	}
	a, err := streamapp.New(cfg, quiet())
	if err != nil {
		t.Fatalf("starting stream: %v", err)
	}
	s := serve(t, listen(t, addr), a.Run)
	waitReady(t, s.url)
	return s
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, base string) {
	t.Helper()
	eventually(t, 20*time.Second, base+" ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for the condition
	}
}

// published is the api's answer to a publish.
type published struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	Type    string `json:"type"`
	Time    string `json:"time"`
}

func (p published) seq(t *testing.T) uint64 {
	n, err := strconv.ParseUint(p.ID, 10, 64)
	if err != nil {
		t.Fatalf("event id %q is not a number", p.ID)
	}
	return n
}

// errUnavailable is a 503 from the api: NATS is down, nothing was stored.
var errUnavailable = errors.New("api unavailable")

// publish POSTs one JSON event and returns the api's answer.
func publish(client *http.Client, apiURL, channel, typ string, data any, key string) (published, error) {
	body, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		return published{}, err
	}
	req, err := http.NewRequest(http.MethodPost, apiURL+"/api/v1/channels/"+channel+"/events", bytes.NewReader(body))
	if err != nil {
		return published{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return published{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable:
		if resp.Header.Get("Retry-After") == "" {
			return published{}, fmt.Errorf("503 without Retry-After: %s", raw)
		}
		return published{}, errUnavailable
	case resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		return published{}, fmt.Errorf("publish status %d: %s", resp.StatusCode, raw)
	}
	var p published
	if err := json.Unmarshal(raw, &p); err != nil {
		return published{}, fmt.Errorf("decoding %s: %w", raw, err)
	}
	return p, nil
}

// envelope is the JSON data of a delivered event.
type envelope struct {
	Channel string          `json:"channel"`
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
	Time    string          `json:"time"`
}
