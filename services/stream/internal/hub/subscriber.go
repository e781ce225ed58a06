package hub

import (
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Subscriber states.
const (
	stateLive int32 = iota
	stateClosed
	stateSlow
)

// Subscriber is one SSE connection's view of the hub: a channel set and a
// bounded queue that its writer (Serve) drains.
type Subscriber struct {
	hub   *Hub
	queue chan *Event
	done  chan struct{}
	state atomic.Int32
	// queued is the frame bytes in queue: added when a frame is queued,
	// subtracted when the writer takes it out.
	queued atomic.Int64

	// Guarded by hub.mu.
	patterns   []string // sorted, no duplicates
	slots      []slot   // where s sits in each pattern's group
	mark       uint64   // hub.gen of the last fan-out that reached s
	registered bool
}

// slot is s's position in one group, so unregistering is O(1) per pattern.
type slot struct {
	g *group
	i int
}

// setSlot records that s moved to index i of g. The caller holds hub.mu.
func (s *Subscriber) setSlot(g *group, i int) {
	for k := range s.slots {
		if s.slots[k].g == g {
			s.slots[k].i = i
			return
		}
	}
}

// SetChannels atomically replaces the channel set (patterns already
// validated): events published before the call match the old set, events
// published after it the new one. It does nothing once s is closed or slow.
func (s *Subscriber) SetChannels(patterns []string) {
	ps := normalize(patterns)
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if !s.registered {
		return
	}
	h.unindexLocked(s)
	s.patterns = ps
	h.indexLocked(s)
}

// Channels returns a sorted copy of the channel set.
func (s *Subscriber) Channels() []string {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	return slices.Clone(s.patterns)
}

// Send queues a frame that is not a channel event (e.g. herald.subscribed), in
// order with events. It returns false if s is closed or slow; if the queue is
// full (in events or bytes), s becomes slow.
func (s *Subscriber) Send(ev *Event) bool {
	if s.state.Load() != stateLive {
		return false
	}
	reason := s.hub.metrics.slowBytes
	if s.reserve(len(ev.Frame)) {
		select {
		case s.queue <- ev:
			return true
		default:
			reason = s.hub.metrics.slowEvents
		}
	}
	if s.fail(reason) {
		s.hub.mu.Lock()
		s.hub.unregisterLocked(s)
		s.hub.mu.Unlock()
	}
	return false
}

// Done is closed when s is closed or dropped as slow.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err returns ErrSlow once the hub dropped s, nil otherwise (also after Close).
func (s *Subscriber) Err() error {
	if s.state.Load() == stateSlow {
		return ErrSlow
	}
	return nil
}

// Close unregisters the subscriber (idempotent). Frames still queued are dropped.
func (s *Subscriber) Close() {
	s.hub.mu.Lock()
	s.hub.unregisterLocked(s)
	s.hub.mu.Unlock()
	if s.state.CompareAndSwap(stateLive, stateClosed) {
		close(s.done)
	}
}

// reserve counts n more queued bytes and reports whether they fit the
// budget. A queue holding nothing takes any frame, so one event larger than
// sse.queue_bytes does not drop everyone. A refused reservation is not
// undone: the subscriber is dropped.
func (s *Subscriber) reserve(n int) bool {
	q := s.queued.Add(int64(n))
	return q == int64(n) || q <= s.hub.queueBytes
}

// take removes ev from the queue's byte count; the writer calls it for
// every event it receives from the queue.
func (s *Subscriber) take(ev *Event) *Event {
	s.queued.Add(-int64(len(ev.Frame)))
	return ev
}

// QueuedBytes is the frame bytes waiting in s's queue.
func (s *Subscriber) QueuedBytes() int64 { return s.queued.Load() }

// fail marks s slow and closes Done; it reports whether this call did it, so
// the caller unregisters s and the metric (c, by reason) counts it once.
func (s *Subscriber) fail(c prometheus.Counter) bool {
	if !s.state.CompareAndSwap(stateLive, stateSlow) {
		return false
	}
	close(s.done)
	c.Inc()
	return true
}
