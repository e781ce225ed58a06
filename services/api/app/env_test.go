package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/api/app"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/auth/authtest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS starts an embedded JetStream server; port -1 picks a free one.
func startNATS(t testing.TB, storeDir string, port int) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: storeDir,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatalf("creating nats server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// env is one api instance on a real embedded NATS, served by httptest.
type env struct {
	t     testing.TB
	ns    *server.Server
	dir   string
	cfg   config.Config
	app   *app.App
	srv   *httptest.Server
	peer  *nats.Conn
	js    jetstream.JetStream
	close func()
	logw  io.Writer // when set, the api logs here at debug level
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv starts NATS, the api (with cfg changed by mod) and waits until it
// is ready.
func newEnv(t testing.TB, mod func(*config.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	ns := startNATS(t, dir, -1)
	e := &env{t: t, ns: ns, dir: dir}
	e.startApp(mod)
	e.waitReady()
	return e
}

func (e *env) startApp(mod func(*config.Config)) {
	e.t.Helper()
	e.startAppURL(e.ns.ClientURL(), mod)
}

// startAppURL starts the api against url, which need not be up yet.
func (e *env) startAppURL(url string, mod func(*config.Config)) {
	e.t.Helper()
	cfg := config.Default()
	cfg.NATS.URL = url
	cfg.PublishTimeout = 2 * time.Second
	cfg.ControlTimeout = 300 * time.Millisecond
	// The default grants nothing (fail closed); these tests are about
	// everything else, so anonymous callers may do anything, and tokens
	// signed with authtest.Secret are accepted.
	cfg.Auth.AnonymousPublish, cfg.Auth.AnonymousSubscribe = []string{">"}, []string{">"}
	cfg.Auth.HMACSecret = authtest.Secret
	if mod != nil {
		mod(&cfg)
	}
	log := quietLog()
	if e.logw != nil {
		log = slog.New(slog.NewJSONHandler(e.logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := app.New(cfg, log)
	if err != nil {
		e.t.Fatalf("app.New: %v", err)
	}
	e.cfg, e.app = cfg, a
	e.srv = httptest.NewServer(a.Handler())
	e.close = func() { e.srv.Close(); a.Close() }
	e.t.Cleanup(e.close)
	if e.peer == nil {
		nc, err := nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			e.t.Fatalf("connecting test peer: %v", err)
		}
		e.t.Cleanup(nc.Close)
		e.peer = nc
		e.js, _ = jetstream.New(nc)
	}
}

// waitReady polls the readiness check with a deadline.
func (e *env) waitReady() {
	e.t.Helper()
	eventually(e.t, 10*time.Second, "api ready", func() bool { return e.app.Ready(context.Background()) == nil })
}

func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for a condition
	}
}

type resp struct {
	status int
	header http.Header
	body   string
}

// do sends one request; ct "" sends no Content-Type. hdr holds extra
// header pairs.
func (e *env) do(method, path, ct, body string, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (e *env) stream() jetstream.Stream {
	e.t.Helper()
	st, err := e.js.Stream(context.Background(), channel.StreamName)
	if err != nil {
		e.t.Fatalf("looking up stream: %v", err)
	}
	return st
}

// problemBody is the exact problem+json body the api writes.
func problemBody(status int, detail string) string {
	return `{"type":"about:blank","title":"` + http.StatusText(status) + `","status":` + itoa(status) + `,"detail":` + jsonString(detail) + "}\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// timeRE matches the envelope time format.
var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// stripTime replaces every "time":"..." value with "T" so bodies with a
// server-chosen time can be compared exactly; it fails on a malformed time.
func stripTime(t testing.TB, body string) string {
	t.Helper()
	re := regexp.MustCompile(`"time":"([^"]*)"`)
	return re.ReplaceAllStringFunc(body, func(m string) string {
		v := re.FindStringSubmatch(m)[1]
		if !timeRE.MatchString(v) {
			t.Errorf("malformed time %q", v)
		}
		return `"time":"T"`
	})
}
