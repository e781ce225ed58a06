package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Item is one event to publish; MsgID, when set, is the JetStream
// de-duplication id (the client's Idempotency-Key).
type Item struct {
	Event *heraldv1.Event
	MsgID string
}

// Result is the outcome of one publish.
type Result struct {
	Seq uint64
	// Duplicate is true when MsgID was seen within the duplicate window:
	// nothing new was stored and Seq is the first publish's sequence.
	Duplicate bool
	Err       error
}

// Publish stores one event and waits for its ack.
func (s *Store) Publish(ctx context.Context, it Item) Result {
	return s.PublishBatch(ctx, []Item{it})[0]
}

// PublishBatch stores items in order and waits for every ack. The messages
// are pipelined on one connection, so their sequences follow the order of
// items. A failed item does not stop the ones after it from being tried:
// each has its own Result, and ones with a MsgID can be retried safely.
func (s *Store) PublishBatch(ctx context.Context, items []Item) []Result {
	out := make([]Result, len(items))
	if _, err := s.checkReady(); err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	futures := make([]jetstream.PubAckFuture, len(items))
	for i, it := range items {
		data, err := proto.Marshal(it.Event)
		if err != nil {
			out[i].Err = fmt.Errorf("encoding event: %w", err)
			continue
		}
		msg := nats.NewMsg(channel.Subject(it.Event.GetChannel()))
		msg.Data = data
		var opts []jetstream.PublishOpt
		if it.MsgID != "" {
			opts = append(opts, jetstream.WithMsgID(it.MsgID))
		}
		f, err := s.js.PublishMsgAsync(msg, opts...)
		if err != nil {
			out[i].Err = s.classify(err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		out[i].Seq, out[i].Duplicate, out[i].Err = s.await(ctx, f)
	}
	return out
}

// await waits for f's outcome. An ack (or error) that is already there wins
// over a done ctx: select picks at random among ready cases, and answering
// 503 for an event that was stored would make the client publish it again.
func (s *Store) await(ctx context.Context, f jetstream.PubAckFuture) (seq uint64, dup bool, err error) {
	select {
	case ack := <-f.Ok():
		return ack.Sequence, ack.Duplicate, nil
	case err := <-f.Err():
		return 0, false, s.classify(err)
	case <-ctx.Done():
	}
	select {
	case ack := <-f.Ok():
		return ack.Sequence, ack.Duplicate, nil
	case err := <-f.Err():
		return 0, false, s.classify(err)
	default:
		// The ack may still come; the client does not learn the id, so
		// it must retry (safely, with an Idempotency-Key).
		s.noAck()
		return 0, false, fmt.Errorf("%w: waiting for the ack: %v", ErrUnavailable, ctx.Err())
	}
}

// Get returns the stored event with sequence seq, e.g. the first publish of a
// de-duplicated retry.
func (s *Store) Get(ctx context.Context, seq uint64) (*heraldv1.Event, error) {
	st, err := s.checkReady()
	if err != nil {
		return nil, err
	}
	m, err := st.GetMsg(ctx, seq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, err
		}
		return nil, s.classify(err)
	}
	ev := &heraldv1.Event{}
	if err := proto.Unmarshal(m.Data, ev); err != nil {
		return nil, fmt.Errorf("decoding event %d: %w", seq, err)
	}
	return ev, nil
}
