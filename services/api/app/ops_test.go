package app_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/services/api/app"
	"github.com/herald-push/herald/services/api/config"
)

func TestOpsEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`)
	e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`, "Idempotency-Key", "x")
	e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`, "Idempotency-Key", "x")
	e.do("POST", "/api/v1/channels/news.*/events", "application/json", `{"data":1}`)
	e.do("GET", "/nowhere", "", "")

	tests := []struct {
		path, want string
	}{
		{"/healthz", `{"status":"ok"}` + "\n"},
		{"/readyz", `{"status":"ok"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if r := e.do("GET", tt.path, "", ""); r.status != 200 || r.body != tt.want {
				t.Errorf("got %d %s", r.status, r.body)
			}
		})
	}
	t.Run("/metrics", func(t *testing.T) {
		r := e.do("GET", "/metrics", "", "")
		for _, line := range []string{
			`herald_api_requests_total{method="POST",route="/api/v1/channels/:channel/events",status="201"} 2`,
			`herald_api_requests_total{method="POST",route="/api/v1/channels/:channel/events",status="200"} 1`,
			`herald_api_requests_total{method="POST",route="/api/v1/channels/:channel/events",status="400"} 1`,
			`herald_api_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`herald_api_events_published_total{result="stored"} 2`,
			`herald_api_events_published_total{result="duplicate"} 1`,
			`herald_api_publish_duration_seconds_count 3`,
		} {
			if !strings.Contains(r.body, line+"\n") {
				t.Errorf("metrics lack %s", line)
			}
		}
	})
}

// TestRun serves on a real listener and shuts down cleanly when the context
// is cancelled (the SIGTERM path).
func TestRun(t *testing.T) {
	ns := startNATS(t, t.TempDir(), -1)
	cfg := config.Default()
	cfg.NATS.URL = ns.ClientURL()
	cfg.Auth.AnonymousPublish = []string{">"} // the default grants nothing
	a, err := app.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	eventually(t, 10*time.Second, "readyz 200", func() bool {
		res, err := http.Get(url + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	res, err := http.Post(url+"/api/v1/channels/news/events", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Errorf("publish: %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := http.Get(url + "/healthz"); err == nil || errors.Is(err, context.Canceled) {
		t.Error("still serving after shutdown")
	}
}
