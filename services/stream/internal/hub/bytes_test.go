package hub

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/herald-push/herald/services/stream/internal/sse"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// sized builds an event whose frame is exactly n bytes (n >= 32).
func sized(seq uint64, ch string, n int) *Event {
	id := strconv.FormatUint(seq, 10)
	f := sse.AppendEvent(nil, id, "", nil)
	pad := n - len(f)
	f = sse.AppendEvent(nil, id, "", bytes.Repeat([]byte{'x'}, pad))
	return &Event{Seq: seq, Channel: ch, Frame: f}
}

func TestQueueBytesDropsSlow(t *testing.T) {
	h := New(Options{QueueSize: 100, QueueBytes: 1000})
	s, _ := h.Subscribe([]string{"a"})
	for i := range 3 {
		h.Publish(sized(uint64(i+1), "a", 300))
	}
	if s.Err() != nil || s.QueuedBytes() != 900 {
		t.Fatalf("after 900 bytes: Err = %v, queued %d", s.Err(), s.QueuedBytes())
	}
	h.Publish(sized(4, "a", 300)) // 1,200 > 1,000
	if s.Err() != ErrSlow || h.Count() != 0 {
		t.Fatalf("over the byte budget: Err = %v, Count = %d", s.Err(), h.Count())
	}
	if got := testutil.ToFloat64(h.metrics.slowBytes); got != 1 {
		t.Errorf(`slow{reason="queue_bytes"} = %v, want 1`, got)
	}
	if got := testutil.ToFloat64(h.metrics.slowEvents); got != 0 {
		t.Errorf(`slow{reason="queue_events"} = %v, want 0`, got)
	}

	// An empty queue takes one frame larger than the whole budget.
	big, _ := h.Subscribe([]string{"a"})
	h.Publish(sized(5, "a", 5000))
	if big.Err() != nil {
		t.Fatalf("a lone oversized frame dropped the subscriber: %v", big.Err())
	}
	h.Publish(sized(6, "a", 40))
	if big.Err() != ErrSlow {
		t.Fatalf("a frame behind an oversized one: Err = %v, want ErrSlow", big.Err())
	}
}

func TestQueuedBytesReturnToZero(t *testing.T) {
	h := New(Options{QueueBytes: 1 << 20})
	s, _ := h.Subscribe([]string{"a"})
	w := &recorder{}
	serve(t, s, w, 0, 0)
	var want strings.Builder
	for i := range 50 {
		e := sized(uint64(i+1), "a", 700)
		want.Write(e.Frame)
		h.Publish(e)
	}
	eventually(t, "everything written", func() bool { return w.all() == want.String() })
	if q := s.QueuedBytes(); q != 0 {
		t.Errorf("queued bytes after draining = %d, want 0", q)
	}
	if !s.Send(&Event{Frame: []byte(": x\n\n")}) {
		t.Error("Send refused after the queue drained")
	}
}

func TestWriteCapped(t *testing.T) {
	h := New(Options{QueueSize: 64, WriteBytes: 1000})
	s, _ := h.Subscribe([]string{"a"})
	var want strings.Builder
	for i := range 10 {
		e := sized(uint64(i+1), "a", 300)
		want.Write(e.Frame)
		h.Publish(e) // all queued before the writer starts: one burst
	}
	huge := sized(11, "a", 5000)
	want.Write(huge.Frame)
	h.Publish(huge)
	last := sized(12, "a", 300)
	want.Write(last.Frame)
	h.Publish(last)

	w := &recorder{}
	serve(t, s, w, 0, 0)
	eventually(t, "burst written", func() bool { return w.all() == want.String() })
	ws, flushes := w.snapshot()
	if flushes != len(ws) {
		t.Errorf("%d writes, %d flushes; want one flush per write", len(ws), flushes)
	}
	for i, p := range ws {
		if len(p) > 1000 && p != string(huge.Frame) {
			t.Errorf("write %d is %d bytes, over the 1,000-byte cap", i, len(p))
		}
	}
	// 10 × 300 → 3 + 3 + 3 + 1, the 5,000-byte frame alone, then the last one.
	if len(ws) != 6 {
		t.Errorf("%d writes, want 6: %v", len(ws), lens(ws))
	}
}

// TestLoneFrameNotCopied: a frame written alone is the shared slice itself.
func TestLoneFrameNotCopied(t *testing.T) {
	h := New(Options{})
	s, _ := h.Subscribe([]string{"a"})
	e := sized(1, "a", 3000)
	var mu sync.Mutex
	var got []byte
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		got = p
		mu.Unlock()
		return len(p), nil
	})
	done := make(chan error, 1)
	go func() { done <- s.Serve(t.Context(), w, nil, 0, 0) }()
	h.Publish(e)
	eventually(t, "written", func() bool { mu.Lock(); defer mu.Unlock(); return got != nil })
	mu.Lock()
	same := &got[0] == &e.Frame[0]
	mu.Unlock()
	if !same {
		t.Error("a lone frame was copied before writing")
	}
	s.Close()
	<-done
}

func TestRingBytes(t *testing.T) {
	h := New(Options{RingSize: 100, RingBytes: 1000})
	for i := range 10 {
		h.Publish(sized(uint64(i+1), "a", 300))
	}
	if h.ring.bytes > 1000 || h.ring.n != 3 {
		t.Fatalf("ring holds %d events, %d bytes; want 3, ≤ 1000", h.ring.n, h.ring.bytes)
	}
	if _, ok := h.Since(5, 10, []string{"a"}); ok {
		t.Error("Since(5) served from a ring that evicted 6 and 7")
	}
	if evs, ok := h.Since(7, 10, []string{"a"}); !ok || len(evs) != 3 {
		t.Errorf("Since(7) = %d events, ok %v; want 3, true", len(evs), ok)
	}
	// One event larger than the whole budget empties the ring; floor follows.
	h.Publish(sized(11, "a", 2000))
	if h.ring.n != 0 || h.ring.bytes != 0 {
		t.Fatalf("after an oversized event: %d events, %d bytes", h.ring.n, h.ring.bytes)
	}
	if _, ok := h.Since(10, 11, []string{"a"}); ok {
		t.Error("Since(10) served from a ring without event 11")
	}
	if evs, ok := h.Since(11, 11, []string{"a"}); !ok || len(evs) != 0 {
		t.Error("an empty range is always served")
	}
}

func lens(ws []string) []int {
	out := make([]int, len(ws))
	for i, w := range ws {
		out[i] = len(w)
	}
	return out
}
