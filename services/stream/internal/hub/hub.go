// Package hub fans events out in process: the stream service's one NATS
// consumer publishes each event once, already encoded as an SSE frame, and the
// hub queues that same frame for every subscriber whose channel set matches.
//
// Publish never blocks: each subscriber has a bounded queue, and a subscriber
// whose queue is full is dropped as slow (its client resumes with
// Last-Event-ID). The hub also keeps a ring of recent events so most resumes
// are served from memory, and Subscribe reports the exact sequence from which
// the live queue takes over, so a replay followed by the queue has no gap.
package hub

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-push/herald/proto/channel"
)

// Event is one event as the hub fans it out: encoded once, its bytes shared
// read-only by every subscriber.
type Event struct {
	Seq     uint64 // JetStream stream sequence (the SSE id); 0 for system frames that carry no id
	Channel string // concrete channel ("" for system frames)
	Frame   []byte // the complete SSE frame bytes
}

// ErrSlow is the error of a subscriber the hub dropped because its queue was
// full, in events or in bytes.
var ErrSlow = errors.New("subscriber too slow: queue full")

// Defaults for the Options left at zero.
const (
	DefaultQueueSize  = 256
	DefaultQueueBytes = 1 << 20
	DefaultWriteBytes = 64 << 10

	DefaultWriteTimeout = 10 * time.Second
)

// Options configure a Hub.
type Options struct {
	QueueSize int // bounded per-subscriber queue, in events (sse.queue_size)
	// QueueBytes bounds the frame bytes queued for one subscriber
	// (sse.queue_bytes). Frames are shared, so this is not memory the
	// subscriber owns, but it is what it pins: a slow reader of large events
	// keeps them alive after the ring let them go. A queue may always hold
	// one frame, however large.
	QueueBytes int
	// WriteBytes caps one coalesced write (and so the one buffer a writer
	// copies frames into); the rest goes in the next write. A single frame
	// larger than that is written from its shared bytes, never copied.
	WriteBytes int
	RingSize   int      // how many recent events the hub keeps in memory to serve resumes without JetStream
	RingBytes  int      // the ring's bound in frame bytes (sse.ring_bytes); 0 = events only
	Metrics    *Metrics // may be nil; NewMetrics(reg) builds herald_stream_* collectors
	// Writers is the size of the writer pool attached connections share
	// (0 = one per core, GOMAXPROCS).
	Writers int
	// Heartbeat: an attached stream that wrote nothing for this long gets
	// ": hb" (sse.heartbeat); 0 = the pool sends none.
	Heartbeat time.Duration
	// WriteTimeout bounds a write to an attached stream that the socket could
	// not take at once (sse.write_timeout; 0 = DefaultWriteTimeout).
	WriteTimeout time.Duration
}

// Hub is the in-process fan-out. Its methods are safe for concurrent use,
// except that Publish must be called by one goroutine at a time.
type Hub struct {
	queueSize  int
	queueBytes int64
	writeBytes int
	bufs       sync.Pool // *[]byte of cap writeBytes: coalescing buffers, held only during a write
	metrics    *Metrics

	// mu orders Publish against Subscribe, SetChannels and Close, which is what
	// makes Subscribe's returned sequence exact. Publish holds it for one
	// fan-out; readers (Since, Channels) take it shared.
	mu       sync.RWMutex
	exact    map[string]*group // concrete channel → subscribers
	wild     map[string]*group // wildcard pattern → subscribers
	wildList []*group          // the values of wild, for allocation-free iteration
	gen      uint64            // fan-out generation, de-duplicates overlapping patterns
	slow     []*Subscriber     // scratch: dropped during the current fan-out
	ring     ring

	runs [][]*Subscriber // scratch of Publish: per writer shard, who to hand over

	last  atomic.Uint64 // Seq of the last published event; written under mu
	count atomic.Int64  // registered subscribers; written under mu

	writerCount  int
	heartbeat    time.Duration
	writeTimeout time.Duration
	poolOnce     sync.Once
	pool         atomic.Pointer[pool]
	poolWG       sync.WaitGroup
	closeOnce    sync.Once
}

// group is the subscribers of one pattern (or one concrete channel).
type group struct {
	pattern string
	wild    bool
	members []*Subscriber
}

// New returns an empty hub.
func New(opts Options) *Hub {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = DefaultQueueBytes
	}
	if opts.WriteBytes <= 0 {
		opts.WriteBytes = DefaultWriteBytes
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	h := &Hub{
		queueSize:  opts.QueueSize,
		queueBytes: int64(opts.QueueBytes),
		writeBytes: opts.WriteBytes,
		metrics:    opts.Metrics,
		exact:      make(map[string]*group),
		wild:       make(map[string]*group),
		ring:       newRing(opts.RingSize, opts.RingBytes),

		writerCount:  opts.Writers,
		heartbeat:    opts.Heartbeat,
		writeTimeout: opts.WriteTimeout,
	}
	h.bufs.New = func() any {
		b := make([]byte, 0, h.writeBytes)
		return &b
	}
	return h
}

// Publish is called by ONE goroutine (the NATS consumer) in increasing Seq
// order. It appends ev to the ring and queues it for every subscriber whose
// channel set matches ev.Channel (channel.Match), never blocking: a subscriber
// whose queue is full is dropped as slow (Done closes, Err returns ErrSlow).
//
// An event with Seq 0 is fanned out but neither kept in the ring nor counted
// in LastSeq; an event with an empty Channel reaches nobody. A Seq that is not
// above LastSeq means the JetStream stream was recreated: the ring restarts
// from it, so resumes from older ids go to JetStream.
func (h *Hub) Publish(ev *Event) {
	h.mu.Lock()
	if ev.Seq != 0 {
		h.ring.push(ev, h.last.Load())
		h.last.Store(ev.Seq)
		h.metrics.ringEvents.Set(float64(h.ring.n))
		h.metrics.ringBytes.Set(float64(h.ring.bytes))
	}
	n := 0
	if ev.Channel != "" {
		h.gen++
		if g := h.exact[ev.Channel]; g != nil {
			n += h.deliver(g, ev)
		}
		for _, g := range h.wildList {
			if channel.Match(g.pattern, ev.Channel) {
				n += h.deliver(g, ev)
			}
		}
		for i, s := range h.slow {
			h.unregisterLocked(s)
			h.slow[i] = nil
		}
		h.slow = h.slow[:0]
	}
	h.mu.Unlock()
	// Hand the subscribers that had nothing queued to their writers, one
	// batch per writer: they write in parallel while the next event fans out.
	if p := h.pool.Load(); p != nil {
		for i, run := range h.runs {
			if len(run) > 0 {
				p.shards[i].submit(run...)
				clear(run)
				h.runs[i] = run[:0]
			}
		}
	}
	h.metrics.published.Inc()
	h.metrics.deliveries.Add(float64(n))
}

// deliver queues ev for g's members that have not had it in this fan-out.
// The caller holds mu.
func (h *Hub) deliver(g *group, ev *Event) int {
	n := 0
	for _, s := range g.members {
		if s.mark == h.gen {
			continue // already matched another of its patterns
		}
		s.mark = h.gen
		run, reason := s.push(ev)
		if reason != nil {
			if s.fail(reason) {
				// Unregistering now would reorder g.members under our feet.
				h.slow = append(h.slow, s)
			}
			continue
		}
		n++
		if run != nil {
			for len(h.runs) <= run.id {
				h.runs = append(h.runs, nil)
			}
			h.runs[run.id] = append(h.runs[run.id], s)
		}
	}
	return n
}

// Advance records that every event up to seq exists but will not be published
// to this hub: the consumer starts after them without backfilling the ring.
// LastSeq becomes seq, so the range Subscribe returns covers those events and
// a resume reads them from JetStream; the ring holds what follows. Without it
// a hub that starts at the stream's end would return LastSeq 0, and a client
// resuming from an id below the stream's end would skip the events between.
// It does nothing when seq <= LastSeq.
func (h *Hub) Advance(seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq <= h.last.Load() {
		return
	}
	h.ring.reset(seq)
	h.last.Store(seq)
	h.metrics.ringEvents.Set(0)
	h.metrics.ringBytes.Set(0)
}

// LastSeq is the Seq of the last published event (0 before any).
func (h *Hub) LastSeq() uint64 { return h.last.Load() }

// Count is the number of live subscribers.
func (h *Hub) Count() int { return int(h.count.Load()) }

// Subscribe registers a subscriber on the given patterns (already validated).
// It returns the hub's LastSeq at the moment of registration: every event with
// Seq > that value that matches is guaranteed to reach the subscriber's queue
// (or make it slow); every event with Seq <= that value has already been
// published. So a resume reads the range (lastEventID, returned] from the ring
// or JetStream, then the queue continues without gap.
func (h *Hub) Subscribe(patterns []string) (*Subscriber, uint64) {
	s := &Subscriber{hub: h}
	ps := normalize(patterns)
	h.mu.Lock()
	defer h.mu.Unlock()
	s.patterns = ps
	s.registered = true
	h.indexLocked(s)
	h.count.Add(1)
	h.metrics.subscribers.Inc()
	return s, h.last.Load()
}

// indexLocked adds s to the group of each of its patterns.
func (h *Hub) indexLocked(s *Subscriber) {
	for _, p := range s.patterns {
		wild := channel.IsPattern(p)
		idx := h.exact
		if wild {
			idx = h.wild
		}
		g := idx[p]
		if g == nil {
			g = &group{pattern: p, wild: wild}
			idx[p] = g
			if wild {
				h.wildList = append(h.wildList, g)
			}
		}
		s.slots = append(s.slots, slot{g: g, i: len(g.members)})
		g.members = append(g.members, s)
	}
}

// unindexLocked removes s from every group, in O(patterns) per group.
func (h *Hub) unindexLocked(s *Subscriber) {
	for _, sl := range s.slots {
		g := sl.g
		last := len(g.members) - 1
		moved := g.members[last]
		g.members[sl.i] = moved
		g.members[last] = nil
		g.members = g.members[:last]
		if moved != s {
			moved.setSlot(g, sl.i)
		}
		if len(g.members) == 0 {
			if g.wild {
				delete(h.wild, g.pattern)
				h.wildList = slices.DeleteFunc(h.wildList, func(x *group) bool { return x == g })
			} else {
				delete(h.exact, g.pattern)
			}
		}
	}
	s.slots = s.slots[:0]
}

// unregisterLocked removes s from the hub if it is still registered.
func (h *Hub) unregisterLocked(s *Subscriber) {
	if !s.registered {
		return
	}
	s.registered = false
	h.unindexLocked(s)
	h.count.Add(-1)
	h.metrics.subscribers.Dec()
}

// normalize returns a sorted copy of patterns without duplicates.
func normalize(patterns []string) []string {
	ps := slices.Clone(patterns)
	slices.Sort(ps)
	return slices.Compact(ps)
}

// matchAny reports whether name matches one of patterns.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if channel.Match(p, name) {
			return true
		}
	}
	return false
}
