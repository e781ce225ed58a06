// Package httpapi serves GET /stream: it authenticates and validates the
// request (answering problem+json 401, 400 or 403 before any stream starts),
// subscribes to the hub, sends the opening frames, replays what a resuming
// client missed and then serves the live feed until the client leaves, is
// too slow, reaches its lifetime or its token's exp (then it is sent
// herald.expired), or the process shuts down (then it is told to retry
// elsewhere).
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/herald-push/herald/services/kit/problem"
	"github.com/herald-push/herald/services/stream/internal/control"
	"github.com/herald-push/herald/services/stream/internal/frame"
	"github.com/herald-push/herald/services/stream/internal/hub"
	"github.com/herald-push/herald/services/stream/internal/metrics"
	"github.com/herald-push/herald/services/stream/internal/replay"
	"github.com/herald-push/herald/services/stream/internal/sse"
)

// Options are the stream settings the handler needs.
type Options struct {
	Heartbeat    time.Duration
	Retry        time.Duration
	MaxChannels  int
	MaxLifetime  time.Duration // 0 = unlimited
	WriteTimeout time.Duration
	// ReadyWait bounds how long a request waits for the consumer's first
	// catch-up before it gets 503.
	ReadyWait time.Duration
	// MaxConnections caps the streams open at once (sse.max_connections);
	// 0 = no cap. See refuse for what a refused client gets.
	MaxConnections int
}

// Stream is the /stream handler.
type Stream struct {
	Opts     Options
	Hub      *hub.Hub
	Replay   *replay.Source
	Control  *control.Registry
	Auth     *auth.Verifier
	Ready    <-chan struct{} // closed once the hub is current
	Shutdown context.Context // done when the server starts shutting down
	Log      *slog.Logger
	Metrics  *metrics.Metrics

	streams tracker      // streams on hijacked connections, for Drain
	open    atomic.Int64 // streams admitted and not yet ended, for MaxConnections
}

// Why a stream was ended by the server.
var (
	errShutdown = errors.New("server shutting down")
	errLifetime = errors.New("stream reached its maximum lifetime")
)

func (s *Stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := logging.IncomingRequestID(r)
	w.Header().Set(logging.RequestIDHeader, reqID)
	log := s.Log.With("request_id", reqID)

	// 401 before anything else: a bad token never starts a stream.
	rights, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	q, err := parse(r, s.Opts.MaxChannels)
	if err != nil {
		s.Metrics.Requests.WithLabelValues("bad_request").Inc()
		var p *problem.Problem
		if !errors.As(err, &p) {
			p = problem.New(http.StatusBadRequest, err.Error())
		}
		problem.Write(w, p)
		return
	}
	if !s.authorize(w, rights, q.channels) {
		return
	}
	if !s.admit() {
		s.refuse(w)
		return
	}
	admitted := true // until a stream owns the slot
	defer func() {
		if admitted {
			s.open.Add(-1)
		}
	}()
	if !s.waitReady(r.Context()) {
		s.Metrics.Requests.WithLabelValues("unavailable").Inc()
		p := problem.New(http.StatusServiceUnavailable, "the stream is not ready yet; retry shortly")
		p.Header = http.Header{"Retry-After": {"1"}}
		problem.Write(w, p)
		return
	}
	s.Metrics.Requests.WithLabelValues("ok").Inc()

	st := &stream{s: s, id: newConnID(), q: q, expires: rights.Expires}
	admitted = false // st.close releases it
	st.log = log.With("conn", logging.ConnHash(st.id))
	st.sub, st.through = s.Hub.Subscribe(q.channels)
	s.Control.Add(st.id, st.sub, control.Owner{Principal: rights.Principal, Anonymous: rights.Anonymous, Subscribe: rights.Subscribe})

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	// The per-write deadlines below would outlive the stream on a reused
	// keep-alive connection; a stream's connection is never reused (the
	// client's reconnect opens a new one anyway). Hijacked, the body ends
	// when the connection closes.
	h.Set("Connection", "close")
	open := frame.Connected(st.id, q.channels, s.Opts.Retry)

	conn, extra, err := s.hijack(w, r)
	switch {
	case err == nil:
		if extra > 0 {
			st.log.Debug("ignoring bytes sent after the stream request", "bytes", extra)
		}
		head := appendHead(make([]byte, 0, 256+len(open)), r, h)
		out := &deadlineWriter{w: conn, dl: conn, timeout: s.Opts.WriteTimeout}
		// r's context ends when this handler returns; the stream outlives it.
		go func() {
			defer s.streams.end(conn)
			defer conn.Close()
			st.serve(context.Background(), out, noFlush, append(head, open...))
		}()
	case errors.Is(err, errKept):
		rc := http.NewResponseController(w)
		// The server's read timeout would cancel a long-lived stream; a stream
		// reads nothing after its headers. Writes get their own deadline.
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		w.WriteHeader(http.StatusOK)
		st.serve(r.Context(), &deadlineWriter{w: w, dl: rc, timeout: s.Opts.WriteTimeout}, rc.Flush, open)
	default:
		st.close()
		s.Metrics.Disconnects.WithLabelValues("client").Inc()
	}
}

// stream is one accepted /stream request, subscribed to the hub.
type stream struct {
	s       *Stream
	id      string
	q       query
	log     *slog.Logger
	sub     *hub.Subscriber
	through uint64
	expires time.Time // the token's exp; zero = none
}

func (st *stream) close() {
	st.sub.Close()
	st.s.Control.Remove(st.id)
	st.s.open.Add(-1)
}

// serve sends open (on a hijacked connection, the response head too), replays
// what a resuming client missed, then the live feed until the stream ends.
// On a hijacked connection flush is noFlush: every write goes to the socket.
func (st *stream) serve(parent context.Context, out *deadlineWriter, flush func() error, open []byte) {
	s, sub, q := st.s, st.sub, st.q
	defer st.close()

	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	stopShutdown := context.AfterFunc(s.Shutdown, func() { cancel(errShutdown) })
	defer stopShutdown()
	if s.Opts.MaxLifetime > 0 {
		t := time.AfterFunc(jitter(s.Opts.MaxLifetime, 0.2), func() { cancel(errLifetime) })
		defer t.Stop()
	}
	if !st.expires.IsZero() {
		t := time.AfterFunc(time.Until(st.expires), func() { cancel(errExpired) })
		defer t.Stop()
	}

	if err := write(out, flush, open); err != nil {
		s.Metrics.Disconnects.WithLabelValues("client").Inc()
		return
	}
	st.log.Debug("stream opened", "channels", q.channels, "last_event_id", q.lastID, "resume", q.resume)

	skip := st.through
	var err error
	if q.resume {
		skip, err = s.Replay.Replay(ctx, out, flush, replay.Request{After: q.lastID, Through: st.through, Patterns: q.channels, Sub: sub})
	}
	if err == nil {
		err = sub.Serve(ctx, out, flush, s.Opts.Heartbeat, skip)
	}
	if errors.Is(sub.Err(), hub.ErrSlow) {
		// dropped by the hub; the write that was stuck failed after that
		err = hub.ErrSlow
	}
	s.finish(st.log, out, flush, context.Cause(ctx), err)
}

func write(out *deadlineWriter, flush func() error, p []byte) error {
	if _, err := out.Write(p); err != nil {
		return err
	}
	return flush()
}

func noFlush() error { return nil }

// finish records why the stream ended and, on shutdown, tells the client
// to come back after a jittered delay so replicas are not stormed at once.
func (s *Stream) finish(log *slog.Logger, out *deadlineWriter, flush func() error, cause, err error) {
	switch {
	case errors.Is(cause, errShutdown):
		s.Metrics.Disconnects.WithLabelValues("shutdown").Inc()
		out.setTimeout(time.Second) // a stuck client must not hold up the shutdown
		_ = write(out, flush, sse.AppendRetry(nil, jitter(s.Opts.Retry, 0.5)))
	case errors.Is(cause, errExpired):
		// The client fetches a fresh token and resumes from its last id.
		s.Metrics.Disconnects.WithLabelValues("expired").Inc()
		_ = write(out, flush, frame.Expired(s.Opts.Retry))
	case errors.Is(err, hub.ErrSlow):
		s.Metrics.Disconnects.WithLabelValues("slow").Inc()
		log.Info("slow client disconnected")
	case errors.Is(cause, errLifetime):
		s.Metrics.Disconnects.WithLabelValues("lifetime").Inc()
	case errors.Is(err, os.ErrDeadlineExceeded):
		// It stopped reading for sse.write_timeout: as slow as a full queue.
		s.Metrics.Disconnects.WithLabelValues("write_timeout").Inc()
		log.Info("slow client disconnected: write timeout")
	case cause != nil || err == nil || clientGone(err):
		s.Metrics.Disconnects.WithLabelValues("client").Inc()
	default:
		s.Metrics.Disconnects.WithLabelValues("error").Inc()
		log.Info("stream ended", "err", err)
	}
}

// clientGone tells a write that failed because the client left (what a
// hijacked stream learns instead of net/http cancelling the request).
func clientGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

func (s *Stream) waitReady(ctx context.Context) bool {
	select {
	case <-s.Ready:
		return true
	default:
	}
	t := time.NewTimer(s.Opts.ReadyWait)
	defer t.Stop()
	select {
	case <-s.Ready:
		return true
	case <-ctx.Done():
	case <-t.C:
	case <-s.Shutdown.Done():
	}
	return false
}

// deadlineWriter bounds every write, so a client that stopped reading is
// disconnected instead of pinning its goroutine forever. Moving the deadline
// costs a runtime timer update (6.7% of the stream's CPU at 10k clients when
// done on every write), so it is moved only when less than half of the
// timeout is left: every write still has between timeout/2 and timeout.
type deadlineWriter struct {
	w        io.Writer
	dl       interface{ SetWriteDeadline(time.Time) error } // the conn, or an http.ResponseController
	timeout  time.Duration
	deadline time.Time
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if now := time.Now(); d.deadline.Sub(now) < d.timeout/2 {
		d.deadline = now.Add(d.timeout)
		_ = d.dl.SetWriteDeadline(d.deadline)
	}
	return d.w.Write(p)
}

// setTimeout changes the bound from the next write on.
func (d *deadlineWriter) setTimeout(t time.Duration) {
	d.timeout, d.deadline = t, time.Time{}
}

// newConnID returns 128 random bits, URL-safe and a single NATS token.
func newConnID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// jitter returns d scaled by a random factor in [1-f, 1+f].
func jitter(d time.Duration, f float64) time.Duration {
	return time.Duration(float64(d) * (1 - f + 2*f*mrand.Float64()))
}
