package hub

import (
	"slices"
	"strconv"
	"testing"
)

func seqs(events []*Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, strconv.FormatUint(e.Seq, 10))
	}
	return out
}

func TestSince(t *testing.T) {
	// Ring of 4 after publishing 1..10 (odd on "a", even on "b.x"): it holds
	// 7..10, so every resume from 6 on is served from memory.
	h := New(Options{RingSize: 4})
	if got, ok := h.Since(0, 0, []string{">"}); got != nil || !ok {
		t.Fatalf("empty hub, empty range: %v %v", got, ok)
	}
	if _, ok := h.Since(0, 3, []string{">"}); ok {
		t.Fatal("empty hub claims to hold events it never saw")
	}
	for i := uint64(1); i <= 10; i++ {
		ch := "a"
		if i%2 == 0 {
			ch = "b.x"
		}
		h.Publish(ev(i, ch))
	}
	tests := []struct {
		name           string
		after, through uint64
		patterns       []string
		want           []string
		ok             bool
	}{
		{"all retained", 6, 10, []string{">"}, []string{"7", "8", "9", "10"}, true},
		{"filtered by channel", 6, 10, []string{"a"}, []string{"7", "9"}, true},
		{"wildcard", 6, 10, []string{"b.*"}, []string{"8", "10"}, true},
		{"through bounds the range", 7, 9, []string{">"}, []string{"8", "9"}, true},
		{"nothing matches", 6, 10, []string{"c"}, nil, true},
		{"empty range", 10, 10, []string{">"}, nil, true},
		{"after beyond through", 12, 10, []string{">"}, nil, true},
		{"evicted", 5, 10, []string{">"}, nil, false},
		{"through not yet published", 8, 11, []string{">"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := h.Since(tt.after, tt.through, tt.patterns)
			if ok != tt.ok || !slices.Equal(seqs(got), tt.want) {
				t.Errorf("Since(%d, %d, %q) = %q, %v; want %q, %v", tt.after, tt.through, tt.patterns, seqs(got), ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSinceEdges(t *testing.T) {
	t.Run("hub started mid-stream", func(t *testing.T) {
		h := New(Options{RingSize: 8})
		h.Publish(ev(100, "a"))
		h.Publish(ev(103, "a")) // JetStream sequences may have holes
		if got, ok := h.Since(99, 103, []string{"a"}); !ok || !slices.Equal(seqs(got), []string{"100", "103"}) {
			t.Errorf("from 99: %q %v", seqs(got), ok)
		}
		if _, ok := h.Since(98, 103, []string{"a"}); ok {
			t.Error("from 98: the hub cannot know about 99")
		}
	})
	t.Run("no ring", func(t *testing.T) {
		h := New(Options{})
		h.Publish(ev(1, "a"))
		h.Publish(ev(2, "a"))
		if _, ok := h.Since(1, 2, []string{"a"}); ok {
			t.Error("a hub without a ring served a resume")
		}
		if got, ok := h.Since(2, 2, []string{"a"}); !ok || got != nil {
			t.Error("empty range must be ok")
		}
	})
	t.Run("stream recreated", func(t *testing.T) {
		h := New(Options{RingSize: 8})
		for i := uint64(1); i <= 5; i++ {
			h.Publish(ev(i, "a"))
		}
		h.Publish(ev(1, "a")) // sequences restart
		h.Publish(ev(2, "a"))
		if got, ok := h.Since(0, 2, []string{"a"}); !ok || !slices.Equal(seqs(got), []string{"1", "2"}) {
			t.Errorf("after reset: %q %v", seqs(got), ok)
		}
		if h.LastSeq() != 2 {
			t.Errorf("LastSeq = %d", h.LastSeq())
		}
	})
	t.Run("system events stay out", func(t *testing.T) {
		h := New(Options{RingSize: 8})
		h.Publish(ev(1, "a"))
		h.Publish(&Event{Channel: "a", Frame: []byte(": x\n\n")})
		if got, ok := h.Since(0, 1, []string{"a"}); !ok || !slices.Equal(seqs(got), []string{"1"}) || h.LastSeq() != 1 {
			t.Errorf("%q %v, LastSeq %d", seqs(got), ok, h.LastSeq())
		}
	})
}

// TestAdvance: a hub whose consumer starts at the stream's end (seq 20)
// reports LastSeq 20 at once, so a subscriber resuming from 15 is given the
// range (15, 20] to read from JetStream, and the ring serves what follows.
func TestAdvance(t *testing.T) {
	h := New(Options{RingSize: 4})
	h.Advance(20)
	sub, through := h.Subscribe([]string{"a"})
	defer sub.Close()
	if through != 20 || h.LastSeq() != 20 {
		t.Fatalf("Subscribe after Advance(20) = %d, LastSeq %d; want 20", through, h.LastSeq())
	}
	if _, ok := h.Since(15, 20, []string{"a"}); ok {
		t.Fatal("ring claims events before the advance")
	}
	h.Publish(ev(21, "a"))
	h.Publish(ev(22, "a"))
	if got, ok := h.Since(20, 22, []string{"a"}); !ok || !slices.Equal(seqs(got), []string{"21", "22"}) {
		t.Fatalf("Since(20, 22) = %q, %v", seqs(got), ok)
	}
	if got := seqs(drain(sub)); !slices.Equal(got, []string{"21", "22"}) {
		t.Fatalf("queued %q", got)
	}
	h.Advance(10) // not above LastSeq: nothing changes
	if h.LastSeq() != 22 {
		t.Fatalf("LastSeq after a lower Advance = %d", h.LastSeq())
	}
}
