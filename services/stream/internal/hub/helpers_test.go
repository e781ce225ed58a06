package hub

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-push/herald/services/stream/internal/sse"
)

// recorder is a real io.Writer that keeps every Write separately, so tests can
// assert exact bytes AND how they were coalesced into writes and flushes.
type recorder struct {
	mu      sync.Mutex
	writes  [][]byte
	flushes int
	err     error // returned by Write once set
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes++
	return nil
}

// snapshot returns the writes so far and the flush count.
func (r *recorder) snapshot() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.writes))
	for i, w := range r.writes {
		out[i] = string(w)
	}
	return out, r.flushes
}

func (r *recorder) all() string {
	ws, _ := r.snapshot()
	return strings.Join(ws, "")
}

// served is a Serve loop running in the background.
type served struct {
	cancel context.CancelFunc
	errc   chan error
	once   sync.Once
	err    error
}

// serve runs s.Serve in the background until the test ends.
func serve(t *testing.T, s *Subscriber, w *recorder, heartbeat time.Duration, skip uint64) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &served{cancel: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- s.Serve(ctx, w, w.Flush, heartbeat, skip) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// wait waits for Serve to return by itself.
func (r *served) wait() error {
	r.once.Do(func() { r.err = <-r.errc })
	return r.err
}

// stop cancels Serve's context and returns its error.
func (r *served) stop() error {
	r.cancel()
	return r.wait()
}

// ev builds an event whose frame is what the stream service would encode.
func ev(seq uint64, ch string) *Event {
	id := ""
	if seq != 0 {
		id = strconv.FormatUint(seq, 10)
	}
	return &Event{Seq: seq, Channel: ch, Frame: sse.AppendEvent(nil, id, "", []byte(`{"channel":"`+ch+`"}`))}
}

// queued drains s's queue without blocking and returns the Seqs (channel for Seq 0).
func queued(s *Subscriber) []string {
	var out []string
	for _, e := range drain(s) {
		if e.Seq == 0 {
			out = append(out, e.Channel)
		} else {
			out = append(out, strconv.FormatUint(e.Seq, 10))
		}
	}
	return out
}

// drain takes everything queued for s, as a writer would.
func drain(s *Subscriber) []*Event {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	evs, _ := s.take(nil, math.MaxInt, 0)
	return evs
}

// pending is how many events are queued for s.
func pending(s *Subscriber) int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.pending)
}
