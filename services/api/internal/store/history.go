package store

import (
	"context"
	"errors"
	"fmt"
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
}

// History returns up to limit events matching pattern (a channel name or
// NATS wildcard pattern) with a sequence above after, oldest first.
//
// It reads through an ephemeral, in-memory, ack-less consumer that is
// deleted before returning (and expires on its own if that delete is lost),
// so history reads never leave state behind. The consumer's pending count
// tells how many messages exist, so the fetch never waits for new ones.
func (s *Store) History(ctx context.Context, pattern string, after uint64, limit int) (Page, error) {
	st, err := s.checkReady()
	if err != nil {
		return Page{}, err
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
	n := int(min(pending, uint64(limit)))
	batch, err := cons.FetchNoWait(n)
	if err != nil {
		return Page{}, s.classify(err)
	}
	page := Page{Events: make([]Stored, 0, n)}
	var last jetstream.Msg
	for m := range batch.Messages() {
		last = m
		md, err := m.Metadata()
		if err != nil {
			return Page{}, fmt.Errorf("reading message metadata: %w", err)
		}
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
		return Page{}, s.classify(err)
	}
	if last != nil {
		if md, _ := last.Metadata(); md.NumPending > 0 {
			page.Next = md.Sequence.Stream
		}
	}
	return page, nil
}
