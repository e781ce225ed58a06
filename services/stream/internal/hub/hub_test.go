package hub

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPublishMatching(t *testing.T) {
	events := []*Event{ev(1, "news"), ev(2, "chat.a"), ev(3, "chat.a.b"), ev(4, "sports.x.y"), ev(5, "chat.b")}
	tests := []struct {
		name     string
		patterns []string
		want     []string
	}{
		{"exact", []string{"news"}, []string{"1"}},
		{"star is one token", []string{"chat.*"}, []string{"2", "5"}},
		{"gt is one or more tokens", []string{"chat.>"}, []string{"2", "3", "5"}},
		{"gt alone is everything", []string{">"}, []string{"1", "2", "3", "4", "5"}},
		{"star in the middle", []string{"chat.*.b"}, []string{"3"}},
		{"overlapping patterns deliver once", []string{"chat.a", "chat.*", "chat.>", ">"}, []string{"1", "2", "3", "4", "5"}},
		{"duplicates deliver once", []string{"news", "news"}, []string{"1"}},
		{"no match", []string{"weather", "chat.*.*.*"}, nil},
		{"prefix is not a match", []string{"chat"}, nil},
	}
	h := New(Options{QueueSize: 16, RingSize: 16})
	subs := make([]*Subscriber, len(tests))
	for i, tt := range tests {
		subs[i], _ = h.Subscribe(tt.patterns)
	}
	for _, e := range events {
		h.Publish(e)
	}
	h.Publish(&Event{Channel: ""}) // a channel-less event reaches nobody
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := queued(subs[i]); !slices.Equal(got, tt.want) {
				t.Errorf("patterns %q got %q, want %q", tt.patterns, got, tt.want)
			}
		})
	}
	if got := h.LastSeq(); got != 5 {
		t.Errorf("LastSeq = %d, want 5", got)
	}
}

func TestSubscribeReturnsLastSeq(t *testing.T) {
	h := New(Options{RingSize: 4})
	if _, last := h.Subscribe([]string{"a"}); last != 0 {
		t.Fatalf("before any event: got %d, want 0", last)
	}
	h.Publish(ev(7, "a"))
	h.Publish(ev(9, "b"))
	s, last := h.Subscribe([]string{"a"})
	if last != 9 {
		t.Fatalf("got %d, want 9", last)
	}
	h.Publish(ev(10, "a"))
	if got := queued(s); !slices.Equal(got, []string{"10"}) {
		t.Errorf("queued %q, want [10]", got)
	}
}

func TestSetChannels(t *testing.T) {
	h := New(Options{})
	s, _ := h.Subscribe([]string{"a", "x.*"})
	other, _ := h.Subscribe([]string{"a"})
	h.Publish(ev(1, "a"))
	s.SetChannels([]string{"c.>", "b", "b"})
	if got, want := s.Channels(), []string{"b", "c.>"}; !slices.Equal(got, want) {
		t.Errorf("Channels = %q, want %q", got, want)
	}
	h.Publish(ev(2, "a"))
	h.Publish(ev(3, "b"))
	h.Publish(ev(4, "x.y"))
	h.Publish(ev(5, "c.d.e"))
	if got, want := queued(s), []string{"1", "3", "5"}; !slices.Equal(got, want) {
		t.Errorf("switched subscriber got %q, want %q", got, want)
	}
	if got, want := queued(other), []string{"1", "2"}; !slices.Equal(got, want) {
		t.Errorf("other subscriber got %q, want %q", got, want)
	}
	s.Close()
	s.SetChannels([]string{"a"}) // no effect once closed
	h.Publish(ev(6, "a"))
	if got := queued(s); got != nil {
		t.Errorf("closed subscriber got %q", got)
	}
	if h.Count() != 1 {
		t.Errorf("Count = %d, want 1", h.Count())
	}
	other.Close()
	assertEmptyIndex(t, h)
}

func TestCloseIsIdempotent(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := New(Options{Metrics: NewMetrics(reg)})
	s, _ := h.Subscribe([]string{"a", "b.*"})
	s.Close()
	s.Close()
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if s.Err() != nil || s.Send(ev(0, "herald.x")) {
		t.Errorf("after Close: Err = %v, Send accepted", s.Err())
	}
	if h.Count() != 0 || testutil.ToFloat64(h.metrics.subscribers) != 0 {
		t.Errorf("Count = %d, gauge = %v, want 0", h.Count(), testutil.ToFloat64(h.metrics.subscribers))
	}
	assertEmptyIndex(t, h)
}

func TestSendOrderAndSlow(t *testing.T) {
	h := New(Options{QueueSize: 3})
	s, _ := h.Subscribe([]string{"a"})
	h.Publish(ev(1, "a"))
	if !s.Send(&Event{Channel: "herald.subscribed"}) {
		t.Fatal("Send refused with room in the queue")
	}
	h.Publish(ev(2, "a"))
	if got, want := queued(s), []string{"1", "herald.subscribed", "2"}; !slices.Equal(got, want) {
		t.Fatalf("queued %q, want %q", got, want)
	}
	for range 3 {
		s.Send(&Event{Channel: "herald.x"})
	}
	if s.Send(&Event{Channel: "herald.x"}) {
		t.Fatal("Send accepted with a full queue")
	}
	if s.Err() != ErrSlow || h.Count() != 0 || testutil.ToFloat64(h.metrics.slowEvents) != 1 {
		t.Errorf("after overflow: Err = %v, Count = %d, slow = %v", s.Err(), h.Count(), testutil.ToFloat64(h.metrics.slowEvents))
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := New(Options{QueueSize: 1, Metrics: NewMetrics(reg)})
	h2 := New(Options{Metrics: NewMetrics(reg)}) // a second hub on the same registry shares the collectors
	a, _ := h.Subscribe([]string{"a"})
	b, _ := h.Subscribe([]string{"a.*", "a"})
	h2.Subscribe([]string{"z"})
	h.Publish(ev(1, "a"))
	h.Publish(ev(2, "a")) // both queues hold one: both dropped
	_, _ = a, b
	want := map[string]float64{
		"herald_stream_subscribers":            1,
		"herald_stream_events_published_total": 2,
		"herald_stream_deliveries_total":       2,
	}
	if got := testutil.ToFloat64(h.metrics.slowEvents); got != 2 {
		t.Errorf(`herald_stream_slow_disconnects_total{reason="queue_events"} = %v, want 2`, got)
	}
	if got := testutil.ToFloat64(h.metrics.slowBytes); got != 0 {
		t.Errorf(`herald_stream_slow_disconnects_total{reason="queue_bytes"} = %v, want 0`, got)
	}
	for name, v := range want {
		got, err := testutil.GatherAndCount(reg, name)
		if err != nil || got != 1 {
			t.Fatalf("%s: %d series, err %v", name, got, err)
		}
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			m := mf.GetMetric()[0]
			val := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if val != v {
				t.Errorf("%s = %v, want %v", name, val, v)
			}
		}
	}
}

// assertEmptyIndex checks that unsubscribing left nothing behind.
func assertEmptyIndex(t *testing.T, h *Hub) {
	t.Helper()
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.exact) != 0 || len(h.wild) != 0 || len(h.wildList) != 0 || h.Count() != 0 {
		t.Errorf("index not empty: exact %d, wild %d, wildList %d, count %d", len(h.exact), len(h.wild), len(h.wildList), h.Count())
	}
}
