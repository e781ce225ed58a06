// Package health serves /healthz (the process is alive) and /readyz (every
// dependency answers), and implements the binaries' `healthcheck` subcommand,
// which lets a container image without a shell or curl check itself.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Check reports whether one dependency is usable.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Live answers 200 {"status":"ok"} while the process serves HTTP.
func Live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// Ready returns a handler answering 200 when every check passes within 2s and
// 503 naming the failures otherwise.
func Ready(checks ...Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, failed := http.StatusOK, map[string]string{}
		for _, c := range checks {
			if err := c.Func(ctx); err != nil {
				status = http.StatusServiceUnavailable
				failed[c.Name] = err.Error()
			}
		}
		body := map[string]any{"status": "ok"}
		if len(failed) > 0 {
			body = map[string]any{"status": "unavailable", "failed": failed}
		}
		writeJSON(w, status, body)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Probe GETs http://<addr>/healthz (addr as in http.addr; an empty host means
// 127.0.0.1) and returns nil on 200. It is the `healthcheck` subcommand.
func Probe(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("parsing http.addr %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(strings.Trim(host, "[]"), port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probing %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probing %s: status %d", url, resp.StatusCode)
	}
	return nil
}
