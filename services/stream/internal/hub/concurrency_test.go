package hub

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestResumeIsGapFree checks the Subscribe guarantee under a concurrent
// publisher: for a subscriber that joins at any moment, the ring's events up
// to the returned sequence followed by its queue are exactly every event,
// once, in order. Run under -race.
func TestResumeIsGapFree(t *testing.T) {
	const total, subscribers = 3000, 40
	h := New(Options{QueueSize: total, RingSize: total})
	patterns := [][]string{{"c"}, {"c.*"}, {">"}, {"c", "c.x"}}
	channelOf := func(seq uint64) string {
		if seq%3 == 0 {
			return "c.x"
		}
		return "c"
	}

	start := make(chan struct{})
	go func() {
		<-start
		for seq := uint64(1); seq <= total; seq++ {
			h.Publish(ev(seq, channelOf(seq)))
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, subscribers)
	for i := range subscribers {
		wg.Go(func() {
			if i == subscribers/2 {
				close(start) // half subscribe before the first event, half while events flow
			}
			ps := patterns[i%len(patterns)]
			s, last := h.Subscribe(ps)
			defer s.Close()
			replayed, ok := h.Since(0, last, ps)
			if !ok {
				errs <- fmt.Errorf("subscriber %d: ring misses (0, %d]", i, last)
				return
			}
			var want []uint64
			for seq := uint64(1); seq <= total; seq++ {
				if matchAny(ps, channelOf(seq)) {
					want = append(want, seq)
				}
			}
			var got []uint64
			for _, e := range replayed {
				got = append(got, e.Seq)
			}
			// Poll the queue until every event came, or a deadline says a gap
			// means the missing ones never will.
			for deadline := time.Now().Add(10 * time.Second); len(got) < len(want) && time.Now().Before(deadline); {
				evs := drain(s)
				for _, e := range evs {
					got = append(got, e.Seq)
				}
				if len(evs) == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			if pending(s) != 0 || !slices.Equal(got, want) {
				errs <- fmt.Errorf("subscriber %d (%q, joined after %d): got %d events, not every one once in order", i, ps, last, len(got))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestChurn races Subscribe, SetChannels, Send and Close against a publisher
// and checks the index is empty afterwards. Its value is under -race.
func TestChurn(t *testing.T) {
	h := New(Options{QueueSize: 4, RingSize: 64})
	pool := []string{"a", "b", "a.*", "a.>", ">", "b.c"}
	stop := make(chan struct{})
	published := make(chan struct{})
	go func() {
		defer close(published)
		for seq := uint64(1); ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			h.Publish(ev(seq, []string{"a", "b", "a.x", "b.c"}[seq%4]))
		}
	}()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 300 {
				s, last := h.Subscribe([]string{pool[r.IntN(len(pool))]})
				switch r.IntN(4) {
				case 0:
					s.SetChannels([]string{pool[r.IntN(len(pool))], pool[r.IntN(len(pool))]})
				case 1:
					s.Send(&Event{Frame: []byte(": x\n\n")})
				case 2:
					h.Since(last/2, last, s.Channels())
				}
				s.Close()
			}
		})
	}
	wg.Wait()
	close(stop)
	<-published
	assertEmptyIndex(t, h)
}
