package replay

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/herald-push/herald/services/stream/internal/metrics"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A client can send a future Last-Event-ID on every request; that must not
// write a WARN line per request.
func TestFutureIDWarnsOncePerMinute(t *testing.T) {
	_, js := streamtest.Connect(t, testkit.JetStream(t).ClientURL())
	streamtest.CreateStream(t, js, jetstream.StreamConfig{})
	var logs syncBuf
	s := &Source{js: js, log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), m: metrics.New(prometheus.NewRegistry())}
	for range 20 {
		if got := s.ahead(context.Background(), Request{After: 1000, Through: 0}); got != 0 {
			t.Fatalf("ahead = %d, want to continue live from 0", got)
		}
	}
	if n := strings.Count(logs.String(), "in the future"); n != 1 {
		t.Fatalf("%d WARN lines for 20 future ids, want 1:\n%s", n, logs.String())
	}
}

func TestEvery(t *testing.T) {
	var e every
	t0 := time.Unix(1000, 0)
	if _, ok := e.allow(t0); !ok {
		t.Fatal("first must pass")
	}
	for i := range 5 {
		if _, ok := e.allow(t0.Add(time.Duration(i) * time.Second)); ok {
			t.Fatal("within the minute must be held back")
		}
	}
	if n, ok := e.allow(t0.Add(time.Minute)); !ok || n != 5 {
		t.Fatalf("after a minute: %d %v, want 5 true", n, ok)
	}
}
