package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herald-push/herald/services/kit/health"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(health.Live))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	if err := run(context.Background(), []string{"healthcheck", "--http.addr", addr}); err != nil {
		t.Errorf("healthcheck of a live server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	if err := run(context.Background(), []string{"healthcheck", "--http.addr", dead}); err == nil {
		t.Error("healthcheck of a dead address succeeded")
	}
}

func TestRunBadConfig(t *testing.T) {
	t.Setenv("HERALD_API_BATCH_MAX", "zero")
	err := run(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "api.batch_max (HERALD_API_BATCH_MAX)") {
		t.Errorf("err = %v", err)
	}
}
