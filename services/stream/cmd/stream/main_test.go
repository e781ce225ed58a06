package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestRunRejectsBadConfig(t *testing.T) {
	err := run(context.Background(), []string{"--sse.heartbeat=never"})
	if err == nil || !strings.Contains(err.Error(), "sse.heartbeat") {
		t.Fatalf("err = %v, want it to name sse.heartbeat", err)
	}
}

func TestHealthcheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	if err := run(context.Background(), []string{"healthcheck", "--http.addr=" + ln.Addr().String()}); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	srv.Close()
	if err := run(context.Background(), []string{"healthcheck", "--http.addr=" + ln.Addr().String()}); err == nil {
		t.Fatal("closed server reported healthy")
	}
}
