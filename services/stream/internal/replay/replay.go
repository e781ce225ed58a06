// Package replay sends a resuming client the events it missed: those after
// its last event id up to the point where its live subscription began, from
// the hub's in-memory ring when it covers them and otherwise from JetStream
// through a short-lived ephemeral consumer that is deleted afterwards (never
// durable, never left behind). Together with the hub's guarantee for
// Subscribe this gives a resume with no gap and no duplicate.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/kit/jsread"
	"github.com/herald-push/herald/services/stream/internal/frame"
	"github.com/herald-push/herald/services/stream/internal/hub"
	"github.com/herald-push/herald/services/stream/internal/metrics"
	"github.com/nats-io/nats.go/jetstream"
)

// flushAt is how many bytes a replay buffers before writing them out: big
// enough to coalesce many events into one write, small enough to start the
// client's progress quickly.
const flushAt = 32 << 10

// fetchBatch is how many stored messages one JetStream pull asks for at
// most; Limits.FetchBytes bounds the same pull in bytes.
const fetchBatch = 256

// fetchWait bounds one pull. A pull never asks for more messages than are
// pending, so the server answers at once; the wait matters only when
// retention removed messages since the count was taken.
const fetchWait = 2 * time.Second

// DefaultFetchBytes is used when Limits.FetchBytes is not positive.
const DefaultFetchBytes = 256 << 10

// Limits bound what resumes take from JetStream at once.
type Limits struct {
	// Concurrency bounds the JetStream replays running at once.
	Concurrency int
	// FetchBytes bounds one pull of one replay (sse.replay_fetch_bytes).
	// What a replica has in flight from JetStream is at most Concurrency ×
	// FetchBytes, well below the server's per-connection pending limit
	// (64 MiB by default) past which it drops the connection as a slow
	// consumer; the pulls of 256 events without a byte bound that this
	// replaced reached hundreds of MB with large events.
	FetchBytes int
}

// Source replays missed events.
type Source struct {
	js  jetstream.JetStream
	hub *hub.Hub
	// ringFrom returns the first sequence the hub was given; the ring
	// cannot hold anything older.
	ringFrom func() uint64
	log      *slog.Logger
	m        *metrics.Metrics
	// slots bounds the JetStream replays running at once: a mass reconnect
	// must not exceed the server's consumers-per-stream limit (1,000 by
	// default) nor flood its API; the others wait their turn.
	slots      chan struct{}
	fetchBytes int
	// futureLog rate-limits the WARN about resume ids in the future.
	futureLog every
	// pull is fetch, or in a test a pull that brings nothing while events
	// are pending: what a lagging clustered node answers, a fault that
	// cannot be made on demand.
	pull func(cons *jsread.Reader, pending uint64, bounded bool) (jetstream.MessageBatch, error)
}

// every lets one event through per minute and counts the ones held back.
type every struct {
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

func (e *every) allow(now time.Time) (suppressed int, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.Before(e.next) {
		e.suppressed++
		return 0, false
	}
	n := e.suppressed
	e.next, e.suppressed = now.Add(time.Minute), 0
	return n, true
}

// New returns a Source reading the hub's ring first, then JetStream, within
// lim.
func New(js jetstream.JetStream, h *hub.Hub, ringFrom func() uint64, lim Limits, log *slog.Logger, m *metrics.Metrics) *Source {
	if lim.FetchBytes <= 0 {
		lim.FetchBytes = DefaultFetchBytes
	}
	return &Source{js: js, hub: h, ringFrom: ringFrom, log: log, m: m,
		slots: make(chan struct{}, max(lim.Concurrency, 1)), fetchBytes: lim.FetchBytes}
}

// Request describes one resume.
type Request struct {
	After    uint64   // the client's last event id
	Through  uint64   // the hub's LastSeq returned by Subscribe
	Patterns []string // the connection's channels
	Sub      *hub.Subscriber
}

// Replay writes the matching events in (After, Through] to w, preceded by a
// herald.gap frame when some of them are no longer retained, and returns the
// sequence the live subscription must skip through. An id beyond the
// stream's last sequence is treated as nothing to replay (the live feed
// continues from now). An error means the stream must end; the client
// resumes again from what it received.
func (s *Source) Replay(ctx context.Context, w io.Writer, flush func() error, req Request) (uint64, error) {
	if req.After >= req.Through {
		if req.After == req.Through {
			s.m.Replays.WithLabelValues("none").Inc()
			return req.Through, nil
		}
		return s.ahead(ctx, req), nil
	}
	out := &batchWriter{w: w, flush: flush}
	if from := s.ringFrom(); from > 0 && req.After+1 >= from {
		if events, ok := s.hub.Since(req.After, req.Through, req.Patterns); ok {
			s.m.Replays.WithLabelValues("ring").Inc()
			for _, ev := range events {
				if err := out.add(req.Sub, ev.Frame); err != nil {
					return 0, err
				}
			}
			s.m.ReplayedEvents.Add(float64(len(events)))
			return req.Through, out.done()
		}
	}
	s.m.Replays.WithLabelValues("jetstream").Inc()
	if err := s.fromJetStream(ctx, out, req); err != nil {
		return 0, err
	}
	return req.Through, out.done()
}

// ahead handles a client whose id is beyond this replica's hub: either this
// replica lags behind the one the client came from (skip what it already
// has), or the id is in the future (replay nothing, continue live).
func (s *Source) ahead(ctx context.Context, req Request) uint64 {
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := s.js.Stream(ictx, channel.StreamName)
	if err != nil {
		// Cannot tell: trust the client rather than send it duplicates.
		s.log.Warn("resume id beyond this replica; stream unavailable to check it", "last_event_id", req.After, "err", err)
		s.m.Replays.WithLabelValues("none").Inc()
		return req.After
	}
	if last := st.CachedInfo().State.LastSeq; req.After > last {
		// Any client can send such an id, so one WARN per minute at most
		// (with how many were not logged); the rest are DEBUG.
		if n, ok := s.futureLog.allow(time.Now()); ok {
			s.log.Warn("resume id is in the future; continuing live", "last_event_id", req.After, "stream_last_seq", last, "suppressed_since_last", n)
		} else {
			s.log.Debug("resume id is in the future; continuing live", "last_event_id", req.After, "stream_last_seq", last)
		}
		s.m.Replays.WithLabelValues("none").Inc()
		return req.Through
	}
	s.m.Replays.WithLabelValues("none").Inc()
	return req.After
}

func (s *Source) fromJetStream(ctx context.Context, out *batchWriter, req Request) error {
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := s.js.Stream(ictx, channel.StreamName)
	if err != nil {
		return fmt.Errorf("looking up stream for replay: %w", err)
	}
	state := st.CachedInfo().State
	start := req.After + 1
	if start < state.FirstSeq {
		s.m.Gaps.Inc()
		if err := out.add(req.Sub, frame.Gap(req.After, state.FirstSeq)); err != nil {
			return err
		}
		start = state.FirstSeq
	}
	if start > req.Through || state.Msgs == 0 {
		return nil
	}
	cons, err := jsread.Open(ictx, st, "replay", start, channel.Filters(req.Patterns)...)
	if err != nil {
		return fmt.Errorf("creating replay consumer: %w", err)
	}
	defer cons.Close(ctx, s.log)
	pending := cons.Pending()
	if pending == 0 {
		return nil
	}
	var b frame.Builder
	sent := 0
	defer func() { s.m.ReplayedEvents.Add(float64(sent)) }()
	for {
		n := 0
		for _, bounded := range []bool{true, false} {
			pull := s.pull
			if pull == nil {
				pull = s.fetch
			}
			batch, err := pull(cons, pending, bounded)
			if err != nil {
				return fmt.Errorf("fetching replay batch: %w", err)
			}
			for msg := range batch.Messages() {
				n++
				meta, err := msg.Metadata()
				if err != nil {
					return fmt.Errorf("reading replay metadata: %w", err)
				}
				seq := meta.Sequence.Stream
				if seq > req.Through {
					return nil // the live queue has it
				}
				ev, err := b.Event(seq, msg.Subject(), msg.Data())
				if err != nil {
					s.log.Error("skipping undecodable event in replay", "seq", seq, "err", err)
				} else {
					if err := out.add(req.Sub, ev.Frame); err != nil {
						return err
					}
					sent++
				}
				pending = meta.NumPending
				if seq >= req.Through || pending == 0 {
					return nil
				}
			}
			if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
				return fmt.Errorf("fetching replay batch: %w", err)
			}
			if n > 0 {
				break
			}
			// Nothing fitted: the next message alone is larger than
			// FetchBytes (a raw NATS publish can be). Pull just it.
		}
		if n == 0 {
			// Events are pending but none came: ending quietly would tell
			// the client it is up to date when it is not. Fail the stream;
			// the client resumes from what it got.
			return fmt.Errorf("replay fetch returned nothing with %d events pending", pending)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// fetch pulls the next messages of a replay: at most fetchBatch and never
// more than are pending (so the server answers without waiting), and when
// bounded at most fetchBytes; unbounded it pulls one message.
func (s *Source) fetch(cons *jsread.Reader, pending uint64, bounded bool) (jetstream.MessageBatch, error) {
	if !bounded {
		return cons.Pull(1, 0, fetchWait)
	}
	return cons.Pull(int(min(pending, fetchBatch)), s.fetchBytes, fetchWait)
}

// batchWriter coalesces replayed frames into few writes and stops early when
// the live subscription was dropped (its queue overflowed during the replay).
type batchWriter struct {
	w     io.Writer
	flush func() error
	buf   []byte
}

func (b *batchWriter) add(sub *hub.Subscriber, f []byte) error {
	b.buf = append(b.buf, f...)
	if len(b.buf) < flushAt {
		return nil
	}
	select {
	case <-sub.Done():
		return fmt.Errorf("live queue overflowed during replay: %w", sub.Err())
	default:
	}
	return b.done()
}

func (b *batchWriter) done() error {
	if len(b.buf) == 0 {
		return nil
	}
	if _, err := b.w.Write(b.buf); err != nil {
		return err
	}
	b.buf = b.buf[:0]
	return b.flush()
}
