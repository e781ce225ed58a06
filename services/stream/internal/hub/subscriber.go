package hub

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Subscriber states.
const (
	stateLive int32 = iota
	stateClosed
	stateSlow
)

// keepCap is the largest pending array a drained subscriber keeps: an idle
// connection holds a few pointers, not the array a burst grew.
const keepCap = 16

// Subscriber is one SSE connection's view of the hub: a channel set and a
// bounded queue of shared frames. The queue is drained either by a writer
// goroutine of its own (Serve) or, once Attach gave it its connection, by
// the hub's writer pool, which holds no goroutine per connection.
type Subscriber struct {
	hub   *Hub
	state atomic.Int32
	// queued is the frame bytes in pending: added when a frame is queued,
	// subtracted when a writer takes it out.
	queued atomic.Int64

	qmu sync.Mutex
	// Guarded by qmu.
	done       chan struct{} // made by the first Done: most streams never ask
	doneClosed bool
	pending    []*Event      // queued frames, oldest first; at most hub.queueSize
	wake       chan struct{} // Serve's wake-up (cap 1); nil unless Serve runs
	out        *outlet       // the connection the pool writes to; nil unless attached
	sched      bool          // attached: in a writer's run list, or being written

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
	run, reason := s.push(ev)
	if reason != nil {
		if s.fail(reason) {
			s.hub.mu.Lock()
			s.hub.unregisterLocked(s)
			s.hub.mu.Unlock()
		}
		return false
	}
	if run != nil {
		run.submit(s)
	}
	return true
}

// push queues ev. reason is the slow-drop counter when ev does not fit (the
// caller fails s); run is the writer shard s must be handed to, when it is
// attached and was not scheduled yet.
func (s *Subscriber) push(ev *Event) (run *shard, reason prometheus.Counter) {
	if !s.reserve(len(ev.Frame)) {
		return nil, s.hub.metrics.slowBytes
	}
	s.qmu.Lock()
	if len(s.pending) >= s.hub.queueSize {
		s.qmu.Unlock()
		return nil, s.hub.metrics.slowEvents
	}
	s.pending = append(s.pending, ev)
	if s.out != nil && !s.sched && !s.out.ending {
		s.sched = true
		run = s.out.shard
	}
	wake := s.wake
	s.qmu.Unlock()
	if wake != nil {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	return run, nil
}

// Done is closed when s is closed or dropped as slow.
func (s *Subscriber) Done() <-chan struct{} {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.done == nil {
		s.done = make(chan struct{})
		if s.doneClosed {
			close(s.done)
		}
	}
	return s.done
}

// closeDone closes Done's channel, now or when it is made.
func (s *Subscriber) closeDone() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.doneClosed = true
	if s.done != nil {
		close(s.done)
	}
}

// Err returns ErrSlow once the hub dropped s, nil otherwise (also after Close).
func (s *Subscriber) Err() error {
	if s.state.Load() == stateSlow {
		return ErrSlow
	}
	return nil
}

// Close unregisters the subscriber (idempotent). Frames still queued are
// dropped. An attached subscriber's connection is left to End.
func (s *Subscriber) Close() {
	s.hub.mu.Lock()
	s.hub.unregisterLocked(s)
	s.hub.mu.Unlock()
	if s.state.CompareAndSwap(stateLive, stateClosed) {
		s.closeDone()
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

// QueuedBytes is the frame bytes waiting in s's queue.
func (s *Subscriber) QueuedBytes() int64 { return s.queued.Load() }

// fail marks s slow and closes Done; it reports whether this call did it, so
// the caller unregisters s and the metric (c, by reason) counts it once. An
// attached subscriber's connection is ended by its writer.
func (s *Subscriber) fail(c prometheus.Counter) bool {
	if !s.state.CompareAndSwap(stateLive, stateSlow) {
		return false
	}
	s.closeDone()
	c.Inc()
	s.End(nil, ErrSlow)
	return true
}

// take removes from the queue the frames of one write: the oldest first,
// then as many as fit in limit bytes (one frame always does). Events with
// 0 < Seq <= skip (already sent by a replay) are dropped, not returned.
// Only what is queued now is taken: a fast publisher must not keep one
// write open. The caller holds qmu.
func (s *Subscriber) take(dst []*Event, limit int, skip uint64) (evs []*Event, more bool) {
	size, k := 0, 0
	for ; k < len(s.pending); k++ {
		ev := s.pending[k]
		if ev.Seq != 0 && ev.Seq <= skip {
			s.queued.Add(-int64(len(ev.Frame)))
			continue
		}
		if len(dst) > 0 && size+len(ev.Frame) > limit {
			break
		}
		size += len(ev.Frame)
		s.queued.Add(-int64(len(ev.Frame)))
		dst = append(dst, ev)
	}
	rest := copy(s.pending, s.pending[k:])
	clear(s.pending[rest:])
	s.pending = s.pending[:rest]
	if rest == 0 && cap(s.pending) > keepCap {
		s.pending = nil
	}
	return dst, rest > 0
}

// frames returns evs as the bytes of one write: a lone frame as its shared
// bytes, several copied into buf (which must hold them).
func frames(evs []*Event, buf []byte) []byte {
	if len(evs) == 1 {
		return evs[0].Frame
	}
	for _, ev := range evs {
		buf = append(buf, ev.Frame...)
	}
	return buf
}
