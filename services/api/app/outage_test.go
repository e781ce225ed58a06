package app_test

import (
	"github.com/herald-push/herald/services/kit/testkit"
	"net"
	"net/http"
	"testing"
	"time"
)

const unavailableDetail = "the event store is unavailable; retry (with the same Idempotency-Key) shortly"

// TestNATSOutage: while NATS is down every publish gets 503 with
// Retry-After (none is silently lost); when a new server comes up on the
// same port and store, the api recovers without a restart and ids go on.
func TestNATSOutage(t *testing.T) {
	e := newEnv(t, nil)
	pub := func() resp {
		return e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`)
	}
	if r := pub(); r.status != 201 || idOf(t, r.body) != 1 {
		t.Fatalf("before: %d %s", r.status, r.body)
	}
	port := e.ns.Addr().(*net.TCPAddr).Port
	e.ns.Shutdown()
	e.ns.WaitForShutdown()

	testkit.Eventually(t, 10*time.Second, func() bool { return pub().status != 201 }, "publish to fail")
	checks := []struct {
		name, method, path, ct, body string
	}{
		{"publish", "POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`},
		{"batch", "POST", "/api/v1/events", "application/json", `{"events":[{"channel":"a","data":1}]}`},
		{"history", "GET", "/api/v1/channels/news/events", "", ""},
	}
	for _, tt := range checks {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.ct, tt.body)
			if r.status != 503 || r.body != problemBody(503, unavailableDetail) || r.header.Get("Retry-After") != "1" {
				t.Errorf("got %d %s Retry-After=%q", r.status, r.body, r.header.Get("Retry-After"))
			}
		})
	}
	if r := e.do("GET", "/readyz", "", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz while down: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/healthz", "", ""); r.status != 200 {
		t.Errorf("healthz while down: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/connections/c/channels", "", ""); r.status != 503 ||
		r.body != problemBody(503, "NATS is unavailable; retry shortly") || r.header.Get("Retry-After") != "1" {
		t.Errorf("control while down: %d %s", r.status, r.body)
	}

	e.ns = startNATS(t, e.dir, port)
	testkit.Eventually(t, 15*time.Second, func() bool { return pub().status == 201 }, "publish to succeed again")
	if r := e.do("GET", "/readyz", "", ""); r.status != 200 {
		t.Errorf("readyz after recovery: %d %s", r.status, r.body)
	}
	r := e.do("GET", "/api/v1/channels/news/events?limit=1", "", "")
	if r.status != 200 || idOf(t, r.body) != 1 {
		t.Errorf("history after recovery: %d %s", r.status, r.body)
	}
}

// TestStartBeforeNATS: the api starts with NATS absent, answers 503 until
// it can connect and ensure the stream, then works.
func TestStartBeforeNATS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	e := &env{t: t, dir: t.TempDir()}
	e.startAppURL("nats://127.0.0.1:"+itoa(port), nil)
	r := e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`)
	if r.status != 503 || r.body != problemBody(503, unavailableDetail) || r.header.Get("Retry-After") != "1" {
		t.Errorf("before NATS: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/readyz", "", ""); r.status != 503 {
		t.Errorf("readyz before NATS: %d", r.status)
	}
	e.ns = startNATS(t, e.dir, port)
	e.waitReady()
	if r := e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`); r.status != 201 {
		t.Errorf("after NATS: %d %s", r.status, r.body)
	}
}

// TestNATSReplacedEmpty: NATS comes back without the stream (a fresh
// store); the first publish that finds it missing makes the api create it
// again, and publishing recovers without a restart.
func TestNATSReplacedEmpty(t *testing.T) {
	e := newEnv(t, nil)
	port := e.ns.Addr().(*net.TCPAddr).Port
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
	e.ns = startNATS(t, t.TempDir(), port)
	var last resp
	testkit.Eventually(t, 15*time.Second, func() bool {
		last = e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`)
		return last.status == 201
	}, "publish to succeed on the new server")
	if idOf(t, last.body) != 1 {
		t.Errorf("first id on the new stream: %s", last.body)
	}
}
