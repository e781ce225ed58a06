package hub

import "sort"

// ring keeps the most recent events in publish order, so a client that
// reconnects within the last RingSize events resumes without reading
// JetStream. It is bounded in events and in frame bytes (RingBytes): a
// ring of maximal events must not take a replica's memory. It is guarded by
// Hub.mu.
type ring struct {
	buf      []*Event
	start    int // index of the oldest event
	n        int
	bytes    int // frame bytes held
	maxBytes int // 0 = no byte bound
	// floor: every event the hub published with Seq > floor is in buf. Before
	// the first event there is no floor (valid is false): the hub cannot know
	// what came before it started.
	floor uint64
	valid bool
}

func newRing(size, maxBytes int) ring {
	return ring{buf: make([]*Event, max(size, 0)), maxBytes: max(maxBytes, 0)}
}

// reset empties the ring, which from now on holds every event after floor.
func (r *ring) reset(floor uint64) {
	clear(r.buf)
	r.start, r.n, r.bytes = 0, 0, 0
	r.floor, r.valid = floor, true
}

// push appends ev (ev.Seq != 0). last is the hub's LastSeq before ev.
func (r *ring) push(ev *Event, last uint64) {
	if !r.valid || ev.Seq <= last {
		// First event, or the stream was recreated and sequences restarted.
		r.reset(ev.Seq - 1)
	}
	if len(r.buf) == 0 {
		r.floor = ev.Seq
		return
	}
	if r.n == len(r.buf) {
		r.dropOldest()
	}
	r.buf[(r.start+r.n)%len(r.buf)] = ev
	r.n++
	r.bytes += len(ev.Frame)
	// An event larger than the whole budget goes too: the ring then holds
	// nothing, and floor says so.
	for r.maxBytes > 0 && r.bytes > r.maxBytes && r.n > 0 {
		r.dropOldest()
	}
}

// dropOldest evicts the oldest event; floor moves up to it.
func (r *ring) dropOldest() {
	old := r.buf[r.start]
	r.floor = old.Seq
	r.bytes -= len(old.Frame)
	r.buf[r.start] = nil
	r.start = (r.start + 1) % len(r.buf)
	r.n--
}

// at returns the i-th oldest event.
func (r *ring) at(i int) *Event { return r.buf[(r.start+i)%len(r.buf)] }

// Since returns the ring's events with after < Seq <= through whose channel
// matches one of patterns, oldest first. ok is false when the ring does not
// hold every event after `after` up to through (then the caller reads
// JetStream instead). An empty range is always ok.
func (h *Hub) Since(after, through uint64, patterns []string) (events []*Event, ok bool) {
	if after >= through {
		return nil, true
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	r := &h.ring
	if !r.valid || after < r.floor || through > h.last.Load() {
		return nil, false
	}
	first := sort.Search(r.n, func(i int) bool { return r.at(i).Seq > after })
	for i := first; i < r.n; i++ {
		ev := r.at(i)
		if ev.Seq > through {
			break
		}
		if matchAny(patterns, ev.Channel) {
			events = append(events, ev)
		}
	}
	return events, true
}
