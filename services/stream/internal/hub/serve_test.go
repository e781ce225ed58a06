package hub

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"time"
)

const hb = ": hb\n\n"

// TestServeCoalesces: whatever is queued when the writer wakes goes out as one
// Write and one flush, in order; replay duplicates are skipped, system frames
// (Seq 0) never are.
func TestServeCoalesces(t *testing.T) {
	tests := []struct {
		name   string
		queued []*Event
		skip   uint64
		want   string // the single write; "" means nothing is written
	}{
		{"one event, shared frame", []*Event{ev(1, "a")}, 0, string(ev(1, "a").Frame)},
		{"three events, one write", []*Event{ev(1, "a"), ev(2, "a"), ev(3, "a")}, 0,
			string(ev(1, "a").Frame) + string(ev(2, "a").Frame) + string(ev(3, "a").Frame)},
		{"replayed events skipped", []*Event{ev(1, "a"), ev(2, "a"), ev(3, "a")}, 2, string(ev(3, "a").Frame)},
		{"system frame kept among skipped", []*Event{ev(1, "a"), {Frame: []byte("event: herald.subscribed\ndata: {}\n\n")}, ev(2, "a")}, 5,
			"event: herald.subscribed\ndata: {}\n\n"},
		{"everything skipped writes nothing", []*Event{ev(1, "a"), ev(2, "a")}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(Options{QueueSize: 8})
			s, _ := h.Subscribe([]string{"a"})
			for _, e := range tt.queued {
				if e.Seq == 0 {
					s.Send(e)
				} else {
					h.Publish(e)
				}
			}
			w := &recorder{}
			r := serve(t, s, w, 0, tt.skip)
			// A marker event proves the writer got past the queued batch.
			marker := &Event{Frame: []byte(": marker\n\n")}
			testkit.Eventually(t, 10*time.Second, func() bool { return pending(s) == 0 }, "queue drained")
			s.Send(marker)
			testkit.Eventually(t, 10*time.Second, func() bool { return strings.HasSuffix(w.all(), ": marker\n\n") }, "marker written")
			writes, flushes := w.snapshot()
			want := []string{tt.want, ": marker\n\n"}
			if tt.want == "" {
				want = want[1:]
			}
			if !slices.Equal(writes, want) || flushes != len(want) {
				t.Errorf("writes %q (%d flushes), want %q", writes, flushes, want)
			}
			if err := r.stop(); err != nil {
				t.Errorf("Serve after cancel = %v, want nil", err)
			}
		})
	}
}

func TestServeHeartbeat(t *testing.T) {
	reg := NewMetrics(nil)
	h := New(Options{Metrics: reg})
	s, _ := h.Subscribe([]string{"a"})
	w := &recorder{}
	serve(t, s, w, 2e6, 0) // 2ms
	testkit.Eventually(t, 10*time.Second, func() bool { ws, _ := w.snapshot(); return len(ws) >= 2 }, "two heartbeats")
	h.Publish(ev(1, "a"))
	testkit.Eventually(t, 10*time.Second, func() bool { return strings.Contains(w.all(), string(ev(1, "a").Frame)) }, "event after heartbeats")
	writes, flushes := w.snapshot()
	for _, got := range writes {
		if got != hb && got != string(ev(1, "a").Frame) {
			t.Errorf("unexpected write %q", got)
		}
	}
	if flushes != len(writes) {
		t.Errorf("%d flushes for %d writes", flushes, len(writes))
	}
	if testutil.ToFloat64(reg.heartbeats) < 2 {
		t.Errorf("heartbeat metric = %v", testutil.ToFloat64(reg.heartbeats))
	}
}

// TestSlowSubscriberDropped: a subscriber that never drains is dropped once its
// queue overflows, while another on the same channel gets every event.
func TestSlowSubscriberDropped(t *testing.T) {
	const queue, total = 4, 20
	reg := NewMetrics(nil)
	h := New(Options{QueueSize: queue, Metrics: reg})
	stuck, _ := h.Subscribe([]string{"a"})
	fast, _ := h.Subscribe([]string{"a.>", "a"})
	w := &recorder{}
	serve(t, fast, w, 0, 0)
	var want strings.Builder
	for i := uint64(1); i <= total; i++ {
		e := ev(i, "a")
		h.Publish(e)
		want.WriteString(string(e.Frame))
		// Pace on the fast reader so only the stuck one can overflow.
		testkit.Eventually(t, 10*time.Second, func() bool { return w.all() == want.String() }, "fast subscriber wrote the event")
	}
	select {
	case <-stuck.Done():
	default:
		t.Fatal("stuck subscriber not dropped")
	}
	if stuck.Err() != ErrSlow || fast.Err() != nil {
		t.Errorf("Err: stuck %v, fast %v", stuck.Err(), fast.Err())
	}
	// Its writer stops at once, without writing what is still queued.
	stuckW := &recorder{}
	if err := stuck.Serve(t.Context(), stuckW, stuckW.Flush, 0, 0); err != ErrSlow || stuckW.all() != "" {
		t.Errorf("Serve of the dropped subscriber = %v after writing %q, want ErrSlow and nothing", err, stuckW.all())
	}
	if h.Count() != 1 || testutil.ToFloat64(reg.slowEvents) != 1 {
		t.Errorf("Count = %d, slow metric = %v; want 1, 1", h.Count(), testutil.ToFloat64(reg.slowEvents))
	}
}

func TestServeEnds(t *testing.T) {
	t.Run("close returns nil", func(t *testing.T) {
		h := New(Options{})
		s, _ := h.Subscribe([]string{"a"})
		r := serve(t, s, &recorder{}, 0, 0)
		s.Close()
		if err := r.wait(); err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	})
	t.Run("write error returned", func(t *testing.T) {
		h := New(Options{})
		s, _ := h.Subscribe([]string{"a"})
		boom := errors.New("broken pipe")
		w := &recorder{err: boom}
		r := serve(t, s, w, 0, 0)
		h.Publish(ev(1, "a"))
		if err := r.wait(); !errors.Is(err, boom) {
			t.Errorf("Serve = %v, want %v", err, boom)
		}
	})
}
