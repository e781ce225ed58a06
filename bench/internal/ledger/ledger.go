// Package ledger accounts, per subscriber, for every event it should have
// received: which per-channel sequences arrived (so losses and duplicates are
// exact), and whether SSE ids only ever moved forward (so a resumed stream
// that replays too much or skips is caught even when payloads look fine).
package ledger

// Channel tracks the sequences one subscriber saw on one channel.
type Channel struct {
	seen     []uint64 // bitset of sequences
	distinct uint64
	dups     uint64
	prefix   uint64 // lowest sequence not yet seen: everything below arrived
}

// Observe records sequence seq and reports whether it was a duplicate.
func (c *Channel) Observe(seq uint64) (dup bool) {
	w := seq / 64
	if w >= uint64(len(c.seen)) {
		n := max(2*len(c.seen), int(w)+1, 4)
		ns := make([]uint64, n)
		copy(ns, c.seen)
		c.seen = ns
	}
	bit := uint64(1) << (seq % 64)
	if c.seen[w]&bit != 0 {
		c.dups++
		return true
	}
	c.seen[w] |= bit
	c.distinct++
	for c.has(c.prefix) {
		c.prefix++
	}
	return false
}

func (c *Channel) has(seq uint64) bool {
	w := seq / 64
	return w < uint64(len(c.seen)) && c.seen[w]&(1<<(seq%64)) != 0
}

// Prefix returns the lowest sequence not yet seen.
func (c *Channel) Prefix() uint64 { return c.prefix }

// Distinct returns how many different sequences arrived.
func (c *Channel) Distinct() uint64 { return c.distinct }

// Dups returns how many arrivals repeated a sequence already seen.
func (c *Channel) Dups() uint64 { return c.dups }

// Lost returns how many of the sequences 0..published-1 never arrived.
// Sequences at or above published (not expected) do not count.
func (c *Channel) Lost(published uint64) uint64 {
	var got uint64
	if c.prefix >= published {
		return 0
	}
	got = c.prefix
	for s := c.prefix; s < published; s++ {
		if c.has(s) {
			got++
		}
	}
	return published - got
}

// Sub is the ledger of one subscriber over the channels [Base, Base+len).
type Sub struct {
	Base     int
	Channels []Channel

	lastID   uint64
	hasID    bool
	IDEvents uint64 // events whose id moved forward
	IDDups   uint64 // events whose id did not move forward (replayed or reordered)
	NoID     uint64 // data events without a numeric id
	Foreign  uint64 // events for a channel this subscriber did not ask for
	Unparsed uint64 // events without a bench payload
}

// NewSub returns a ledger for channels base..base+n-1.
func NewSub(base, n int) *Sub { return &Sub{Base: base, Channels: make([]Channel, n)} }

// Result is what one event meant to the ledger.
type Result struct {
	Dup   bool // payload sequence seen before
	IDDup bool // SSE id did not increase
	Bad   bool // foreign channel: not accounted
}

// Observe records an event: its channel index and sequence from the payload,
// and its SSE id (hasID false when the event carried no id line).
func (s *Sub) Observe(channel int64, seq uint64, id uint64, hasID bool) Result {
	var r Result
	if hasID {
		if s.hasID && id <= s.lastID {
			s.IDDups++
			r.IDDup = true
		} else {
			s.lastID, s.hasID = id, true
			s.IDEvents++
		}
	} else {
		s.NoID++
	}
	i := int(channel) - s.Base
	if channel < 0 || i < 0 || i >= len(s.Channels) {
		s.Foreign++
		r.Bad = true
		return r
	}
	r.Dup = s.Channels[i].Observe(seq)
	return r
}

// LastID returns the last id that moved forward, for Last-Event-ID.
func (s *Sub) LastID() (uint64, bool) { return s.lastID, s.hasID }

// Totals sums a subscriber's accounting against the published counts per
// channel index (published[c] events with sequences 0..published[c]-1).
type Totals struct {
	Expected, Received, Lost, Dups uint64
	IDDups, NoID, Foreign          uint64
	// LostByID is expected minus the events whose id moved forward: a check
	// that does not trust the payload.
	LostByID int64
}

// Add accumulates s into t.
func (t *Totals) Add(s *Sub, published []uint64) {
	var expected uint64
	for i := range s.Channels {
		c := &s.Channels[i]
		var p uint64
		if s.Base+i < len(published) {
			p = published[s.Base+i]
		}
		expected += p
		t.Lost += c.Lost(p)
		t.Dups += c.dups
		t.Received += c.distinct + c.dups
	}
	t.Expected += expected
	t.IDDups += s.IDDups
	t.NoID += s.NoID
	t.Foreign += s.Foreign
	t.LostByID += int64(expected) - int64(s.IDEvents)
}
