package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Stored is one event read back with its id.
type Stored struct {
	Seq   uint64
	Event *heraldv1.Event
}

// Page is one page of history.
type Page struct {
	Events []Stored
	// Next is the cursor for the following page (the sequence of the last
	// message read), or 0 when no further matching events exist yet.
	Next uint64
	// Capped is true when maxBytes ended the page before limit did.
	Capped bool
}

// historyPullBytes bounds one JetStream pull of a history read, and
// historyPullMax its message count: a page of maximal events arrives in
// pulls of at most 1 MiB, never all at once. One pull of 1,000 such events
// (393 MB) made the server drop the api's connection as a slow consumer,
// failing every publish in flight.
const (
	historyPullBytes = 1 << 20
	historyPullMax   = 256
	historyPullWait  = 2 * time.Second
)

// History returns up to limit events matching pattern (a channel name or
// NATS wildcard pattern) with a sequence above after, oldest first, and at
// most about maxBytes of stored messages (at least one event, however
// large, so paging always moves on). An after at or past the stream's end
// is an empty page.
//
// It reads through an ephemeral, in-memory, ack-less consumer that is
// deleted before returning (and expires on its own if that delete is lost),
// so history reads never leave state behind. The consumer's pending count
// tells how many messages exist, so the fetch never waits for new ones.
func (s *Store) History(ctx context.Context, pattern string, after uint64, limit int, maxBytes int64) (Page, error) {
	st, err := s.checkReady()
	if err != nil {
		return Page{}, err
	}
	if after == math.MaxUint64 {
		return Page{}, nil // nothing can come after it (and after+1 would wrap to 0)
	}
	cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject:     channel.Subject(pattern),
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return Page{}, s.classify(err)
	}
	name := cons.CachedInfo().Name
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := st.DeleteConsumer(dctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			s.log.Warn("deleting history consumer; it expires by itself", "consumer", name, "err", err)
		}
	}()

	pending := cons.CachedInfo().NumPending
	if pending == 0 {
		return Page{}, nil
	}
	page := Page{Events: make([]Stored, 0, min(pending, uint64(limit), historyPullMax))}
	budget := maxBytes
	var last uint64
	read := 0 // messages read, decodable or not: limit counts them
	for read < limit && pending > 0 && budget > 0 {
		want := int(min(pending, uint64(limit-read), historyPullMax))
		n, err := s.pull(cons, &page, want, min(budget, historyPullBytes), &pending, &last, &budget)
		if err != nil {
			return Page{}, err
		}
		if n == 0 && read == 0 {
			// The first message alone is larger than the budget: send it
			// alone rather than a page that never moves on.
			if n, err = s.pull(cons, &page, 1, 0, &pending, &last, &budget); err != nil {
				return Page{}, err
			}
			if n == 0 {
				return Page{}, fmt.Errorf("%w: history read returned nothing with %d events pending", ErrUnavailable, pending)
			}
		}
		if n == 0 {
			break // the next message does not fit what is left of maxBytes
		}
		read += n
	}
	if pending > 0 {
		page.Next = last
		page.Capped = read < limit
	}
	return page, nil
}

// pull fetches up to want messages and at most maxBytes (0 = no byte
// bound) into page, never more than are pending so the server answers at
// once. It updates pending, last (the last sequence read) and budget, and
// returns how many messages came.
func (s *Store) pull(cons jetstream.Consumer, page *Page, want int, maxBytes int64, pending, last *uint64, budget *int64) (int, error) {
	opts := []jetstream.FetchOpt{jetstream.FetchMaxWait(historyPullWait)}
	if maxBytes > 0 {
		opts = append(opts, jetstream.FetchMaxBytes(int(maxBytes)))
	}
	batch, err := cons.Fetch(want, opts...)
	if err != nil {
		return 0, s.classify(err)
	}
	n := 0
	for m := range batch.Messages() {
		n++
		md, err := m.Metadata()
		if err != nil {
			return n, fmt.Errorf("reading message metadata: %w", err)
		}
		*last, *pending = md.Sequence.Stream, md.NumPending
		*budget -= int64(len(m.Data()) + len(m.Subject()) + len(m.Reply()))
		ev := &heraldv1.Event{}
		if err := proto.Unmarshal(m.Data(), ev); err != nil {
			// Not ours (someone published raw bytes on our subjects):
			// skip it rather than fail the whole page.
			s.log.Warn("skipping undecodable event in history", "seq", md.Sequence.Stream, "err", err)
			continue
		}
		// The subject is the channel (as the stream service labels it), not
		// whatever a raw NATS publisher put in the protobuf field.
		ev.Channel, _ = channel.FromSubject(m.Subject())
		page.Events = append(page.Events, Stored{Seq: md.Sequence.Stream, Event: ev})
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return n, s.classify(err)
	}
	return n, nil
}
