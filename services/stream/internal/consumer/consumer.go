// Package consumer runs the one ordered JetStream consumer of a stream
// process: it reads every event of HERALD_EVENTS in sequence order, encodes
// each frame once and hands it to the hub. It waits for the stream to exist
// (the api creates it), fills the hub's ring with recent history at start so
// resumes right after a restart are served from memory, and after any failure
// (NATS restart, deleted consumer, a server that died or hung while holding
// the consumer, a lost batch) resumes right after the last sequence the hub
// saw, so nothing is lost or fanned out twice.
//
// It is an ordered consumer of its own making (an ephemeral, unacknowledged,
// in-memory R1 pull consumer whose delivery sequence must step by one) rather
// than nats.go's: that one recreates itself after a stall silently, with
// 10 s attempts, and nothing could log, count or report it. Here a stall is
// two missed idle heartbeats (consumer.heartbeat), and every failover is one
// log line with its reason and length and one herald_stream_consumer_restarts_total.
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
	"github.com/herald-push/herald/services/kit/backoff"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/herald-push/herald/services/stream/internal/frame"
	"github.com/herald-push/herald/services/stream/internal/hub"
	"github.com/herald-push/herald/services/stream/internal/metrics"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Consumer feeds a hub from JetStream.
type Consumer struct {
	js        jetstream.JetStream
	hub       *hub.Hub
	ringSize  int
	heartbeat time.Duration
	log       *slog.Logger
	m         *metrics.Metrics

	caughtUp  atomic.Bool
	readyOnce sync.Once
	ready     chan struct{}
	lastErr   atomic.Pointer[error]
	firstSeq  atomic.Uint64             // first sequence handed to the hub by this process
	stream    atomic.Pointer[streamRef] // the stream as last looked up, for the bridge
	bridged   atomic.Int64              // events the bridge delivered during the current failover

	// Lag, when set, observes each live event's publish→fan-out latency.
	Lag *metrics.Lag
}

// DefaultHeartbeat is consumer.heartbeat's default: a stall is noticed after
// two of them, well within the 3 s a failover may take.
const DefaultHeartbeat = time.Second

// streamRef wraps the interface so it fits an atomic.Pointer.
type streamRef struct{ jetstream.Stream }

// New returns a consumer that expects an idle heartbeat from JetStream every
// heartbeat (DefaultHeartbeat when 0); Run starts it.
func New(js jetstream.JetStream, h *hub.Hub, ringSize int, heartbeat time.Duration, log *slog.Logger, m *metrics.Metrics) *Consumer {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	return &Consumer{js: js, hub: h, ringSize: ringSize, heartbeat: heartbeat, log: log, m: m, ready: make(chan struct{})}
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

// A failover's attempts are short and retried quickly: during a stream
// leader election an attempt gets no answer, and a long one would hold the
// failover for its whole timeout after the cluster is back.
const (
	attemptTimeout = 2 * time.Second
	minWait        = 100 * time.Millisecond
	maxWait        = time.Second
)

// errGap means a delivery went missing (a batch lost with a connection):
// the consumer is recreated from the next sequence the hub lacks.
var errGap = errors.New("consumer skipped a delivery")

// Run consumes until ctx is done, recreating the consumer after failures:
// at once after one that was running, then with a capped backoff. It
// returns nil when ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	wait := backoff.Capped{Min: minWait, Max: maxWait}
	var down time.Time // when delivery stopped; zero while running
	reason, attempts, lastLogged := "", 0, ""
	for {
		running, startedAt := false, time.Time{}
		err := c.runOnce(ctx, !down.IsZero(), func(start uint64) {
			running, startedAt = true, time.Now()
			c.m.ConsumerStarts.Inc()
			if !down.IsZero() {
				c.log.Info("consumer failed over", "reason", reason,
					"stalled_for", time.Since(down).Round(time.Millisecond).String(),
					"attempts", attempts+1, "start_seq", start, "bridged_events", c.bridged.Swap(0))
			}
			down, attempts, lastLogged = time.Time{}, 0, ""
			wait.Reset()
		})
		c.caughtUp.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		c.lastErr.Store(&err)
		switch {
		case running:
			reason = reasonOf(err)
			down = time.Now()
			if reason == "no_heartbeat" {
				down = down.Add(-2 * c.heartbeat) // silent since the last heartbeat
			}
			c.m.ConsumerRestarts.WithLabelValues(reason).Inc()
			c.log.Warn("consumer failed; recreating it from the next sequence",
				"reason", reason, "err", err, "after_seq", c.hub.LastSeq())
			if reason == "no_heartbeat" {
				// the server holding the consumer died or hung; if it is
				// also ours, do not wait for the pings to notice
				natsconn.Suspect(c.js.Conn(), c.log, "event consumer missed its heartbeats")
			}
			if time.Since(startedAt) > time.Second {
				continue // the first attempt goes at once
			}
			// it failed as soon as it started: back off, do not spin
		case errors.Is(err, jetstream.ErrStreamNotFound):
			if lastLogged != "not_found" {
				c.log.Info("waiting for the event stream to be created", "stream", channel.StreamName)
				lastLogged = "not_found"
			}
		default:
			attempts++
			if errors.Is(err, context.DeadlineExceeded) {
				natsconn.Suspect(c.js.Conn(), c.log, "creating the event consumer got no answer")
			}
			if err.Error() != lastLogged {
				c.log.Warn("creating the consumer failed; will retry", "err", err, "attempts", attempts, "after_seq", c.hub.LastSeq())
				lastLogged = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait.Next()):
		}
	}
}

// reasonOf names a running consumer's failure for logs and metrics.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, jetstream.ErrNoHeartbeat):
		return "no_heartbeat"
	case errors.Is(err, errGap):
		return "gap"
	case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
		return "deleted"
	}
	return "error"
}

// runOnce creates one consumer, calls started, and feeds the hub until it
// fails. While recovering it bridges with direct gets until the consumer is
// there.
func (c *Consumer) runOnce(ctx context.Context, recovering bool, started func(start uint64)) error {
	var br *bridge
	if ref := c.stream.Load(); recovering && ref != nil {
		br = c.startBridge(ctx, ref.Stream)
	} else {
		br = c.startBridge(ctx, nil)
	}
	defer func() { c.bridged.Add(br.stop()) }()
	sctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	st, err := c.js.Stream(sctx, channel.StreamName)
	cancel()
	if err != nil {
		return fmt.Errorf("looking up stream %s: %w", channel.StreamName, err)
	}
	c.stream.Store(&streamRef{st})
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

	cctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	cons, err := st.CreateConsumer(cctx, jetstream.ConsumerConfig{
		Name:          "herald-stream-" + nuid.Next(),
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
		// What an ordered consumer is: no acks, one replica in memory; a
		// lost delivery shows as a gap in the delivery sequence.
		AckPolicy:     jetstream.AckNonePolicy,
		Replicas:      1,
		MemoryStorage: true,
		// the server removes it soon if this process dies without deleting it
		InactiveThreshold: 30 * time.Second,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("creating consumer at seq %d: %w", start, err)
	}
	name := cons.CachedInfo().Name
	defer func() {
		// an ephemeral consumer is ours alone: remove it now rather than
		// leaving it to the inactivity threshold. A failover must not wait
		// for this (the server holding it may be dead), so only shutdown does.
		del := func() {
			dctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
			defer cancel()
			_ = c.js.DeleteConsumer(dctx, channel.StreamName, name)
		}
		if ctx.Err() != nil {
			del()
		} else {
			go del() // bounded by attemptTimeout
		}
	}()

	it, err := cons.Messages(
		jetstream.PullHeartbeat(c.heartbeat),
		jetstream.PullExpiry(max(10*time.Second, 4*c.heartbeat)),
		jetstream.WithMessagesErrOnMissingHeartbeat(true),
	)
	if err != nil {
		return fmt.Errorf("reading consumer: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	// From here the consumer feeds the hub: skip what the bridge delivered.
	c.bridged.Add(br.stop())
	prev = max(prev, c.hub.LastSeq())
	started(start)
	c.log.Info("consumer started", "start_seq", start, "stream_last_seq", target, "heartbeat", c.heartbeat.String())
	if prev >= target || start > target {
		c.markCaughtUp()
	}

	var b frame.Builder
	var delivered uint64 // the consumer's delivery sequence, which steps by one
	for {
		msg, err := it.Next()
		if err != nil {
			return fmt.Errorf("reading next event: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("reading message metadata: %w", err)
		}
		if meta.Sequence.Consumer != delivered+1 {
			return fmt.Errorf("%w: delivery %d after %d (stream seq %d)", errGap, meta.Sequence.Consumer, delivered, meta.Sequence.Stream)
		}
		delivered = meta.Sequence.Consumer
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
				c.m.ConsumerSeq.Set(float64(seq))
			}
			prev = seq
		}
		if meta.NumPending == 0 || seq >= target {
			c.markCaughtUp()
		}
	}
}
