// Package store is the api's side of JetStream: it creates or updates the
// HERALD_EVENTS stream from config (retrying in the background until NATS is
// reachable), publishes events with their ack, and reads history pages. Every
// failure that means "NATS cannot take or give this right now" is reported as
// ErrUnavailable, which the HTTP layer answers with 503 and Retry-After.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors the HTTP layer maps to statuses.
var (
	// ErrUnavailable means NATS or the stream cannot be used right now (503).
	ErrUnavailable = errors.New("event store unavailable")
	// ErrTooLarge means NATS refused the message for its size (413).
	ErrTooLarge = errors.New("event too large for the event store")
)

// Store publishes to and reads from the event stream.
type Store struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	ret     config.Retention
	timeout time.Duration
	log     *slog.Logger

	stream  atomic.Pointer[streamRef] // set once the stream is ensured
	recheck atomic.Bool               // Run should ensure the stream (again)
	why     atomic.Pointer[string]    // the error that asked for the re-check
	kick    chan struct{}
	checks  atomic.Uint64 // re-checks begun after the stream was ensured
	suspect atomic.Bool   // a link check is running
}

// Rechecks counts the times a publish found the stream unreachable and Run
// began checking it again.
func (s *Store) Rechecks() uint64 { return s.checks.Load() }

// streamRef wraps the interface so it fits an atomic.Pointer.
type streamRef struct{ jetstream.Stream }

// New returns a store on nc. Publishes wait at most publishTimeout for an ack.
func New(nc *nats.Conn, ret config.Retention, publishTimeout time.Duration, log *slog.Logger) (*Store, error) {
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(publishTimeout),
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithDefaultTimeout(publishTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	st := &Store{nc: nc, js: js, ret: ret, timeout: publishTimeout, log: log, kick: make(chan struct{}, 1)}
	st.recheck.Store(true)
	return st, nil
}

// StreamConfig is the configuration the api gives HERALD_EVENTS.
func (s *Store) StreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              channel.StreamName,
		Description:       "Herald events; the stream sequence is the event id",
		Subjects:          []string{channel.StreamSubjects},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
		MaxAge:            s.ret.MaxAge,
		MaxMsgsPerSubject: s.ret.MaxMsgsPerChannel,
		MaxMsgs:           -1,
		MaxBytes:          s.ret.MaxBytes,
		Replicas:          s.ret.Replicas,
		Duplicates:        s.ret.DuplicateWindow,
		// Direct gets let any replica serve single-message reads cheaply
		// (idempotent retries here, resume look-ups in the stream service).
		AllowDirect: true,
	}
}

// Setup attempts are short and retried: an attempt sent while the cluster
// elects a leader gets no answer, and waiting out a long timeout then would
// delay the stream check long after the cluster is back.
const (
	setupAttempt           = time.Second
	setupMinWait           = 100 * time.Millisecond
	setupMaxWait           = time.Second
	setupLogRepeatInterval = 10 * time.Second
)

// Run creates or updates the stream, retrying with backoff until it
// succeeds, and again whenever a publish finds the stream missing (a NATS
// server that came back with an empty store, or a cluster electing a stream
// leader). Publishes never wait for it once the stream has existed: they go
// straight to JetStream and fail on their own if it cannot take them. Run
// returns when ctx is done.
func (s *Store) Run(ctx context.Context) {
	wait := setupMinWait
	lastErr, lastLog := "", time.Time{}
	var since time.Time // when the current check began failing
	for {
		if s.recheck.Load() {
			if err := s.ensure(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				if since.IsZero() {
					since = time.Now()
				}
				if err.Error() != lastErr || time.Since(lastLog) > setupLogRepeatInterval {
					s.log.Warn("ensuring event stream; will retry", "stream", channel.StreamName, "err", err,
						"failing_for", time.Since(since).Round(time.Millisecond).String())
					lastErr, lastLog = err.Error(), time.Now()
				}
				wait = min(wait*2, setupMaxWait)
			} else {
				if !since.IsZero() {
					s.log.Info("event stream available again", "stream", channel.StreamName,
						"unavailable_for", time.Since(since).Round(time.Millisecond).String())
				}
				lastErr, since, wait = "", time.Time{}, setupMinWait
			}
		}
		var timer <-chan time.Time
		if s.recheck.Load() {
			timer = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-timer:
		}
	}
}

func (s *Store) ensure(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("nats is %s", s.nc.Status())
	}
	ctx, cancel := context.WithTimeout(ctx, setupAttempt)
	defer cancel()
	st, err := s.js.CreateOrUpdateStream(ctx, s.StreamConfig())
	if err != nil {
		return fmt.Errorf("creating or updating stream %s: %w", channel.StreamName, err)
	}
	first := s.stream.Swap(&streamRef{st}) == nil
	s.recheck.Store(false)
	s.why.Store(nil)
	if first {
		info := st.CachedInfo()
		s.log.Info("event stream ready", "stream", channel.StreamName,
			"max_age", info.Config.MaxAge.String(), "max_msgs_per_channel", info.Config.MaxMsgsPerSubject,
			"max_bytes", info.Config.MaxBytes, "replicas", info.Config.Replicas,
			"duplicate_window", info.Config.Duplicates.String(), "messages", info.State.Msgs, "last_seq", info.State.LastSeq)
	}
	return nil
}

// Ready is the readiness check: NATS connected and the stream ensured, and
// not being re-checked after a publish found it unreachable.
func (s *Store) Ready(context.Context) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("nats is %s", s.nc.Status())
	}
	if s.stream.Load() == nil {
		return fmt.Errorf("stream %s not ensured yet", channel.StreamName)
	}
	if s.recheck.Load() {
		why := "unknown"
		if p := s.why.Load(); p != nil {
			why = *p
		}
		return fmt.Errorf("stream %s unreachable, re-checking: %s", channel.StreamName, why)
	}
	return nil
}

// checkReady fails fast with ErrUnavailable before touching NATS when the
// stream has never been ensured, and returns the stream otherwise. A stream
// being re-checked is used anyway: a publish that works is better than a 503
// while the check waits for its answer.
func (s *Store) checkReady() (jetstream.Stream, error) {
	if !s.nc.IsConnected() {
		return nil, fmt.Errorf("%w: nats is %s", ErrUnavailable, s.nc.Status())
	}
	ref := s.stream.Load()
	if ref == nil {
		return nil, fmt.Errorf("%w: stream %s not ensured yet", ErrUnavailable, channel.StreamName)
	}
	return ref.Stream, nil
}

// noAck is called when a publish got no ack in time: maybe the server it went
// through is hung. The link is checked off the request path, once at a time,
// and left for another server if it does not answer (natsconn.Suspect).
func (s *Store) noAck() {
	if s.suspect.CompareAndSwap(false, true) {
		go func() {
			defer s.suspect.Store(false)
			natsconn.Suspect(s.nc, s.log, "a publish got no ack")
		}()
	}
}

// classify turns a NATS error into ErrUnavailable or ErrTooLarge, and asks
// Run to ensure the stream again when it seems to be gone.
func (s *Store) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, jetstream.ErrAsyncPublishTimeout), errors.Is(err, nats.ErrTimeout):
		s.noAck()
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrStreamNotFound):
		why := err.Error()
		s.why.Store(&why)
		if !s.recheck.Swap(true) {
			s.checks.Add(1)
		}
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
