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
	"net"
	"net/http"
	"os"
	"sync"
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

// Handler is the /stream handler.
type Handler struct {
	Opts     Options
	Hub      *hub.Hub
	Replay   *replay.Source
	Control  *control.Registry
	Auth     *auth.Verifier
	Ready    <-chan struct{} // closed once the hub is current
	Shutdown context.Context // done when the server starts shutting down
	Log      *slog.Logger
	Metrics  *metrics.Metrics

	streams      tracker      // streams on hijacked connections, for Drain
	shutdownHook sync.Once    // endLive, registered with the first live stream
	open         atomic.Int64 // streams admitted and not yet ended, for MaxConnections
}

// Why a stream was ended by the server.
var (
	errShutdown = errors.New("server shutting down")
	errLifetime = errors.New("stream reached its maximum lifetime")
)

func (s *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := logging.IncomingRequestID(r)
	w.Header().Set(logging.RequestIDHeader, reqID)

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

	c := &conn{s: s, id: newConnID(), q: q, expires: rights.Expires, start: time.Now()}
	admitted = false // c.close releases it
	c.reqID = reqID
	c.sub, c.through = s.Hub.Subscribe(q.channels)
	s.Control.Add(c.id, c.sub, control.Owner{Principal: rights.Principal, Anonymous: rights.Anonymous, Subscribe: rights.Subscribe})

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	// The per-write deadlines below would outlive the stream on a reused
	// keep-alive connection; a stream's connection is never reused (the
	// client's reconnect opens a new one anyway). Hijacked, the body ends
	// when the connection closes.
	h.Set("Connection", "close")
	open := frame.Connected(c.id, q.channels, s.Opts.Retry)

	sock, extra, err := s.hijack(w, r)
	switch {
	case err == nil:
		if extra > 0 {
			c.logger().Debug("ignoring bytes sent after the stream request", "bytes", extra)
		}
		head := appendHead(make([]byte, 0, 256+len(open)), r, h)
		// r's context ends when this handler returns; the stream outlives it.
		go c.serveHijacked(sock, append(head, open...))
	case errors.Is(err, errKept):
		rc := http.NewResponseController(w)
		// The server's read timeout would cancel a long-lived stream; a stream
		// reads nothing after its headers. Writes get their own deadline.
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		w.WriteHeader(http.StatusOK)
		c.serve(r.Context(), &deadlineWriter{w: w, dl: rc, timeout: s.Opts.WriteTimeout}, rc.Flush, open)
	default:
		c.close()
		s.Metrics.Disconnects.WithLabelValues("client").Inc()
	}
}

// conn is one accepted /stream request (one connection id), subscribed to
// the hub.
type conn struct {
	s        *Handler
	id       string
	q        query
	reqID    string
	sock     net.Conn // hijacked: the connection the writer pool writes to
	sub      *hub.Subscriber
	through  uint64
	expires  time.Time // the token's exp; zero = none
	start    time.Time
	lifetime time.Duration // jittered sse.max_lifetime; 0 until first asked

	// A stream on the writer pool ends from a pool goroutine; what must stop
	// then (the timers and the shutdown hook of its live phase) is kept here.
	mu    sync.Mutex
	over  bool
	stops []func() bool
}

// logger is the stream's logger, built when something is logged: an idle
// stream keeps its request id, not a logger (a handler clone with its
// attributes pre-formatted, ≈ 300 bytes a stream).
func (c *conn) logger() *slog.Logger {
	return c.s.Log.With("request_id", c.reqID, "conn", logging.ConnHash(c.id))
}

func (c *conn) close() {
	c.sub.Close()
	c.s.Control.Remove(c.id)
	c.s.open.Add(-1)
}

// serve sends open, replays what a resuming client missed, then serves the
// live feed from a goroutine of its own until the stream ends: the model for
// a connection net/http keeps.
func (c *conn) serve(parent context.Context, out *deadlineWriter, flush func() error, open []byte) {
	defer c.close()
	ctx, stop := c.phase(parent)
	defer stop()
	skip, err := c.begin(ctx, out, flush, open)
	if err == nil {
		err = c.sub.Serve(ctx, out, flush, c.s.Opts.Heartbeat, skip)
	}
	if errors.Is(c.sub.Err(), hub.ErrSlow) {
		// dropped by the hub; the write that was stuck failed after that
		err = hub.ErrSlow
	}
	c.s.finish(c.logger(), out, flush, context.Cause(ctx), err)
}

// serveHijacked sends open (the response head too) and the replay from this
// goroutine, then attaches the stream to the hub's writer pool and returns:
// an idle live stream holds no goroutine, no timer and no buffer.
func (c *conn) serveHijacked(sock net.Conn, open []byte) {
	s := c.s
	c.sock = sock
	out := &deadlineWriter{w: sock, dl: sock, timeout: s.Opts.WriteTimeout}
	ctx, stop := c.phase(context.Background())
	skip, err := c.begin(ctx, out, noFlush, open)
	ended := context.Cause(ctx) // before stop cancels ctx
	stop()
	if err == nil && ended == nil {
		// The pool never blocks on this socket; a write it cannot finish at
		// once gets its own deadline.
		_ = sock.SetWriteDeadline(time.Time{})
		err = c.sub.Attach(hub.Outlet{
			Conn: sock, Skip: skip,
			OnEnd: c.ended, // a method value: no closure to keep per stream
		})
		if err == nil {
			c.live(sock)
			return
		}
		// not a socket: it keeps a writer goroutine
		ctx, stop = c.phase(context.Background())
		err = c.sub.Serve(ctx, out, noFlush, s.Opts.Heartbeat, skip)
		ended = context.Cause(ctx)
		stop()
	}
	if errors.Is(c.sub.Err(), hub.ErrSlow) {
		err = hub.ErrSlow
	}
	if ended == nil {
		ended = context.Cause(ctx)
	}
	s.finish(c.logger(), out, noFlush, ended, err)
	_ = sock.Close()
	c.close()
	s.streams.end(sock)
}

// phase returns a context that ends with the stream: on shutdown, at the
// stream's lifetime or at its token's exp (as the cause).
func (c *conn) phase(parent context.Context) (context.Context, func()) {
	s := c.s
	ctx, cancel := context.WithCancelCause(parent)
	stopShutdown := context.AfterFunc(s.Shutdown, func() { cancel(errShutdown) })
	var timers []*time.Timer
	if d, ok := c.lifetimeLeft(); ok {
		timers = append(timers, time.AfterFunc(d, func() { cancel(errLifetime) }))
	}
	if !c.expires.IsZero() {
		timers = append(timers, time.AfterFunc(time.Until(c.expires), func() { cancel(errExpired) }))
	}
	return ctx, func() {
		stopShutdown()
		for _, t := range timers {
			t.Stop()
		}
		cancel(nil)
	}
}

// lifetimeLeft is how long the stream may still live, jittered once per
// stream, when sse.max_lifetime is set.
func (c *conn) lifetimeLeft() (time.Duration, bool) {
	if c.s.Opts.MaxLifetime <= 0 {
		return 0, false
	}
	if c.lifetime == 0 {
		c.lifetime = jitter(c.s.Opts.MaxLifetime, 0.2)
	}
	return time.Until(c.start.Add(c.lifetime)), true
}

// begin writes open and, for a resume, the replay; it returns the sequence
// the live feed skips through.
func (c *conn) begin(ctx context.Context, out *deadlineWriter, flush func() error, open []byte) (uint64, error) {
	s, q := c.s, c.q
	if err := write(out, flush, open); err != nil {
		return 0, err
	}
	c.logger().Debug("stream opened", "channels", q.channels, "last_event_id", q.lastID, "resume", q.resume)
	if !q.resume {
		return c.through, nil
	}
	return s.Replay.Replay(ctx, out, flush, replay.Request{After: q.lastID, Through: c.through, Patterns: q.channels, Sub: c.sub})
}

// live arms what ends an attached stream: shutdown (retry elsewhere), its
// lifetime, its token's exp (herald.expired).
func (c *conn) live(sock net.Conn) {
	s, sub := c.s, c.sub
	s.shutdownHook.Do(func() { context.AfterFunc(s.Shutdown, s.endLive) })
	s.streams.live(sock, c)
	if s.Shutdown.Err() != nil {
		// endLive may have run before this stream was recorded
		sub.End(s.finalFrame(errShutdown), errShutdown)
	}
	if d, ok := c.lifetimeLeft(); ok {
		c.onEnd(time.AfterFunc(d, func() { sub.End(nil, errLifetime) }).Stop)
	}
	if !c.expires.IsZero() {
		c.onEnd(time.AfterFunc(time.Until(c.expires), func() { sub.End(s.finalFrame(errExpired), errExpired) }).Stop)
	}
}

// onEnd registers stop to run when the attached stream ends (at once if it
// has).
func (c *conn) onEnd(stop func() bool) {
	c.mu.Lock()
	if c.over {
		c.mu.Unlock()
		stop()
		return
	}
	c.stops = append(c.stops, stop)
	c.mu.Unlock()
}

// ended is the pool's report that an attached stream is over (its final
// frame written, its socket closed).
func (c *conn) ended(cause, err error) {
	c.mu.Lock()
	c.over = true
	stops := c.stops
	c.stops = nil
	c.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	if errors.Is(cause, hub.ErrSlow) {
		err, cause = hub.ErrSlow, nil
	}
	c.s.record(c.logger(), cause, err)
	c.close()
	c.s.streams.end(c.sock)
}

func write(out *deadlineWriter, flush func() error, p []byte) error {
	if _, err := out.Write(p); err != nil {
		return err
	}
	return flush()
}

func noFlush() error { return nil }

// finish, for a stream with a writer goroutine, writes the final frame its
// end calls for and records why it ended.
func (s *Handler) finish(log *slog.Logger, out *deadlineWriter, flush func() error, cause, err error) {
	if f := s.finalFrame(cause); f != nil {
		out.setTimeout(time.Second) // a stuck client must not hold up the shutdown
		_ = write(out, flush, f)
	}
	s.record(log, cause, err)
}

// finalFrame is what a stream ended by cause is told last: on shutdown, to
// come back after a jittered delay (so replicas are not stormed at once); at
// its token's exp, herald.expired (the client fetches a fresh token and
// resumes from its last id).
func (s *Handler) finalFrame(cause error) []byte {
	switch {
	case errors.Is(cause, errShutdown):
		return sse.AppendRetry(nil, jitter(s.Opts.Retry, 0.5))
	case errors.Is(cause, errExpired):
		return frame.Expired(s.Opts.Retry)
	}
	return nil
}

// record counts (and, for the unusual ones, logs) why a stream ended.
func (s *Handler) record(log *slog.Logger, cause, err error) {
	switch {
	case errors.Is(cause, errShutdown):
		s.Metrics.Disconnects.WithLabelValues("shutdown").Inc()
	case errors.Is(cause, errExpired):
		s.Metrics.Disconnects.WithLabelValues("expired").Inc()
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

func (s *Handler) waitReady(ctx context.Context) bool {
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
