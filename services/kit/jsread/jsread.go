// Package jsread reads a range of a JetStream stream without leaving state
// behind: an ephemeral, in-memory, single-replica, ack-less consumer that the
// read deletes when it ends, and that the server expires by itself if that
// delete is lost. The api's history pages and the stream service's replays
// read this way; each keeps its own pull loop (a page budget across pulls,
// a replay's bound per pull and its end sequence).
package jsread

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// inactiveThreshold is the server's safety net if the delete is lost.
	inactiveThreshold = 30 * time.Second
	deleteTimeout     = 2 * time.Second
)

// Reader is one read through an ephemeral consumer.
type Reader struct {
	st   jetstream.Stream
	cons jetstream.Consumer
	what string
}

// Open creates the consumer on st for the messages from sequence start on
// whose subjects match filters (one or more NATS subject filters). what
// names the read in Close's log line ("history", "replay").
func Open(ctx context.Context, st jetstream.Stream, what string, start uint64, filters ...string) (*Reader, error) {
	cfg := jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: inactiveThreshold,
	}
	if len(filters) == 1 {
		cfg.FilterSubject = filters[0]
	} else {
		cfg.FilterSubjects = filters
	}
	cons, err := st.CreateConsumer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Reader{st: st, cons: cons, what: what}, nil
}

// Pending is how many matching messages the stream held when the consumer
// was created: a pull of no more than are pending is answered at once.
func (r *Reader) Pending() uint64 { return r.cons.CachedInfo().NumPending }

// Pull fetches up to n messages, at most maxBytes of them (0: no byte bound,
// for a message larger than the usual bound), waiting at most wait.
func (r *Reader) Pull(n, maxBytes int, wait time.Duration) (jetstream.MessageBatch, error) {
	opts := []jetstream.FetchOpt{jetstream.FetchMaxWait(wait)}
	if maxBytes > 0 {
		opts = append(opts, jetstream.FetchMaxBytes(maxBytes))
	}
	return r.cons.Fetch(n, opts...)
}

// Close deletes the consumer, taking at most 2 s even when ctx is done; a
// failure is logged at WARN (the consumer then expires by itself).
func (r *Reader) Close(ctx context.Context, log *slog.Logger) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	name := r.cons.CachedInfo().Name
	if err := r.st.DeleteConsumer(dctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		log.Warn("deleting the "+r.what+" consumer; it expires by itself", "consumer", name, "err", err)
	}
}
