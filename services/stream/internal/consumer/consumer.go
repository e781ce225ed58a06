// Package consumer runs the one ordered JetStream consumer of a stream
// process: it reads every event of HERALD_EVENTS in sequence order, encodes
// each frame once and hands it to the hub. It waits for the stream to exist
// (the api creates it), fills the hub's ring with recent history at start so
// resumes right after a restart are served from memory, and after any failure
// (NATS restart, deleted consumer) resumes right after the last sequence the
// hub saw, so nothing is lost or fanned out twice.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/stream/internal/frame"
	"github.com/herald-push/herald/services/stream/internal/hub"
	"github.com/herald-push/herald/services/stream/internal/metrics"
	"github.com/nats-io/nats.go/jetstream"
)

// Consumer feeds a hub from JetStream.
type Consumer struct {
	js       jetstream.JetStream
	hub      *hub.Hub
	ringSize int
	log      *slog.Logger
	m        *metrics.Metrics

	caughtUp  atomic.Bool
	readyOnce sync.Once
	ready     chan struct{}
	lastErr   atomic.Pointer[error]
	firstSeq  atomic.Uint64 // first sequence handed to the hub by this process

	// Lag, when set, observes each live event's publish→fan-out latency.
	Lag *metrics.Lag
}

// New returns a consumer; Run starts it.
func New(js jetstream.JetStream, h *hub.Hub, ringSize int, log *slog.Logger, m *metrics.Metrics) *Consumer {
	return &Consumer{js: js, hub: h, ringSize: ringSize, log: log, m: m, ready: make(chan struct{})}
}

// Ready is closed once the consumer has caught up with the stream for the
// first time (the ring holds recent history and LastSeq is current).
func (c *Consumer) Ready() <-chan struct{} { return c.ready }

// FirstSeq is the first sequence this process handed to the hub (0 before
// any). The ring never holds events before it, whatever it reports, so a
// resume from an older id must read JetStream.
func (c *Consumer) FirstSeq() uint64 { return c.firstSeq.Load() }

// Check is a readiness check: nil while the consumer runs and has read
// everything the stream held when it last (re)started.
func (c *Consumer) Check(context.Context) error {
	if c.caughtUp.Load() {
		return nil
	}
	if p := c.lastErr.Load(); p != nil {
		return fmt.Errorf("consumer not caught up: %w", *p)
	}
	return errors.New("consumer not caught up")
}

func (c *Consumer) markCaughtUp() {
	if !c.caughtUp.Swap(true) {
		c.log.Info("consumer caught up", "seq", c.hub.LastSeq())
	}
	c.readyOnce.Do(func() { close(c.ready) })
}

// Run consumes until ctx is done, recreating the consumer after failures
// with a capped backoff. It returns nil when ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	const minWait, maxWait = 100 * time.Millisecond, 2 * time.Second
	wait := minWait
	for {
		started := time.Now()
		err := c.runOnce(ctx)
		c.caughtUp.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		c.lastErr.Store(&err)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			c.log.Info("waiting for the event stream to be created", "stream", channel.StreamName)
		} else {
			c.log.Warn("consumer stopped; restarting", "err", err, "after_seq", c.hub.LastSeq())
		}
		if time.Since(started) > 10*time.Second {
			wait = minWait // it ran fine for a while: this is a new failure
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, maxWait)
	}
}

// runOnce creates one ordered consumer and feeds the hub until it fails.
func (c *Consumer) runOnce(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	st, err := c.js.Stream(sctx, channel.StreamName)
	cancel()
	if err != nil {
		return fmt.Errorf("looking up stream %s: %w", channel.StreamName, err)
	}
	state := st.CachedInfo().State
	last := c.hub.LastSeq()
	start := last + 1
	if last == 0 {
		// First start: backfill the ring with the newest ringSize events.
		start = state.LastSeq + 1
		if c.ringSize > 0 && state.LastSeq >= uint64(c.ringSize) {
			start = state.LastSeq - uint64(c.ringSize) + 1
		} else if c.ringSize > 0 {
			start = 1
		}
	}
	prev := last // the hub has every event up to here
	if state.LastSeq < last {
		// The stream was deleted and recreated: sequences restarted. The hub
		// resets its ring when it sees a lower sequence.
		c.log.Warn("event stream sequences restarted; following the new stream", "hub_seq", last, "stream_last_seq", state.LastSeq)
		start, prev = 1, 0
		c.firstSeq.Store(0)
	}
	start = max(start, state.FirstSeq, 1)
	target := state.LastSeq
	// Events before start exist but will not reach the hub: say so, or a
	// client resuming from below start would be told it has nothing to replay.
	c.hub.Advance(start - 1)
	prev = max(prev, start-1)

	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
		// the server removes it soon if this process dies without deleting it
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("creating ordered consumer at seq %d: %w", start, err)
	}
	c.m.ConsumerStarts.Inc()
	c.log.Info("consumer started", "start_seq", start, "stream_last_seq", target)
	if prev >= target || start > target {
		c.markCaughtUp()
	}
	defer func() {
		// an ordered consumer is ours alone: remove it now rather than
		// leaving it to the inactivity threshold
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if info := cons.CachedInfo(); info != nil {
			_ = c.js.DeleteConsumer(dctx, channel.StreamName, info.Name)
		}
	}()

	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("reading ordered consumer: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()

	var b frame.Builder
	for {
		msg, err := it.Next()
		if err != nil {
			return fmt.Errorf("reading next event: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("reading message metadata: %w", err)
		}
		seq := meta.Sequence.Stream
		if seq > prev { // a recreated consumer may repeat what the hub has
			ev, err := b.Event(seq, msg.Subject(), msg.Data())
			if err != nil {
				c.m.DecodeErrors.Inc()
				c.log.Error("skipping undecodable event", "seq", seq, "err", err)
			} else {
				c.firstSeq.CompareAndSwap(0, seq)
				c.hub.Publish(ev)
				if c.caughtUp.Load() { // live, not the backlog read at start
					c.Lag.Observe(b.Time())
				}
				prev = seq
				c.m.ConsumerSeq.Set(float64(seq))
			}
		}
		if meta.NumPending == 0 || seq >= target {
			c.markCaughtUp()
		}
	}
}
