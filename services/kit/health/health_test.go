package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReady(t *testing.T) {
	ok := Check{Name: "nats", Func: func(context.Context) error { return nil }}
	bad := Check{Name: "stream", Func: func(context.Context) error { return errors.New("not created") }}
	tests := []struct {
		name   string
		checks []Check
		status int
		body   string
	}{
		{"all ok", []Check{ok}, 200, `{"status":"ok"}` + "\n"},
		{"one failing", []Check{ok, bad}, 503, `{"failed":{"stream":"not created"},"status":"unavailable"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Ready(tt.checks...)(rec, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Fatalf("got %d %q", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			Live(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := Probe(context.Background(), addr); err != nil {
		t.Fatalf("Probe healthy: %v", err)
	}
	_, port, _ := strings.Cut(addr, ":")
	if err := Probe(context.Background(), ":"+port); err != nil {
		t.Fatalf("Probe with empty host: %v", err)
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	if err := Probe(context.Background(), strings.TrimPrefix(down.URL, "http://")); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Fatalf("Probe unhealthy: %v", err)
	}
	if err := Probe(context.Background(), "nonsense"); err == nil {
		t.Fatal("Probe bad addr: want error")
	}
}
