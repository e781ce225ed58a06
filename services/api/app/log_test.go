package app_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/herald-push/herald/services/api/app"
	"github.com/herald-push/herald/services/api/config"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAccessLog: one JSON line per request, carrying the request id the
// client sent.
func TestAccessLog(t *testing.T) {
	ns := startNATS(t, t.TempDir(), -1)
	var buf syncBuffer
	cfg := config.Default()
	cfg.NATS.URL = ns.ClientURL()
	a, err := app.New(cfg, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/channels/a.*/events", strings.NewReader(`{"data":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "abc-123")
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != 400 || rec.Header().Get("X-Request-Id") != "abc-123" {
		t.Fatalf("got %d, request id %q", rec.Code, rec.Header().Get("X-Request-Id"))
	}
	for line := range strings.SplitSeq(buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "request" {
			continue
		}
		if m["request_id"] != "abc-123" || m["status"] != float64(400) || m["route"] != "/api/v1/channels/:channel/events" || m["method"] != "POST" {
			t.Errorf("access log line %s", line)
		}
		return
	}
	t.Errorf("no access log line in %s", buf.String())
}
