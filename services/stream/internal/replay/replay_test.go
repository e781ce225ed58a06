package replay

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-push/herald/services/kit/jsread"
	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/herald-push/herald/services/stream/internal/hub"
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

// emptyBatch is what a lagging node's pull brings: no message, no error.
type emptyBatch struct{ ch chan jetstream.Msg }

func (b emptyBatch) Messages() <-chan jetstream.Msg { return b.ch }
func (b emptyBatch) Error() error                   { return nil }

// A pull that brings nothing while the consumer says events are pending
// must end the stream with an error (the client resumes), not end the
// replay quietly: live serving would then skip to Through with no gap frame.
func TestEmptyPullWithEventsPendingFails(t *testing.T) {
	_, js := streamtest.Connect(t, testkit.JetStream(t).ClientURL())
	streamtest.CreateStream(t, js, jetstream.StreamConfig{})
	var last uint64
	for range 3 {
		last = streamtest.Publish(t, js, "news", "", `1`)
	}
	h := hub.New(hub.Options{})
	sub, _ := h.Subscribe([]string{"news"})
	defer sub.Close()
	s := New(js, h, func() uint64 { return 0 }, Limits{Concurrency: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.New(prometheus.NewRegistry()))
	s.pull = func(*jsread.Reader, uint64, bool) (jetstream.MessageBatch, error) {
		ch := make(chan jetstream.Msg)
		close(ch)
		return emptyBatch{ch}, nil
	}
	var out bytes.Buffer
	_, err := s.Replay(context.Background(), &out, func() error { return nil }, Request{After: 0, Through: last, Patterns: []string{"news"}, Sub: sub})
	if err == nil || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("Replay = %v (wrote %q); want an error: 3 events pending, none came", err, out.String())
	}
}
