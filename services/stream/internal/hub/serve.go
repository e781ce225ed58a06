package hub

import (
	"context"
	"io"
	"time"

	"github.com/herald-push/herald/services/stream/internal/sse"
)

// heartbeatFrame is what an idle connection gets every heartbeat.
var heartbeatFrame = sse.AppendComment(nil, "hb")

// maxRetainedBuf bounds the coalescing buffer a writer keeps between bursts,
// so one burst of large events does not pin memory for the connection's life.
const maxRetainedBuf = 64 << 10

// Serve is the subscriber's writer loop. It drains the queue, skipping events
// with 0 < Seq <= skipThrough (already sent during a replay), and writes
// everything queued at that moment as ONE w.Write followed by ONE flush()
// (coalescing: a burst costs one syscall, not one per event). When nothing was
// written for heartbeat (> 0), it writes ": hb\n\n" and flushes. flush may be
// nil.
//
// It returns nil when ctx is done or s was closed, ErrSlow when the hub
// dropped s, or the write/flush error.
func (s *Subscriber) Serve(ctx context.Context, w io.Writer, flush func() error, heartbeat time.Duration, skipThrough uint64) error {
	var tick <-chan time.Time
	var timer *time.Timer
	if heartbeat > 0 {
		timer = time.NewTimer(heartbeat)
		defer timer.Stop()
		tick = timer.C
	}
	var buf []byte
	for {
		// A dropped subscriber stops at once: its client resumes from the last
		// id it got, so writing what is still queued would only delay that.
		select {
		case <-s.done:
			return s.Err()
		default:
		}
		var out []byte
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return s.Err()
		case <-tick:
			out = heartbeatFrame
			s.hub.metrics.heartbeats.Inc()
		case ev := <-s.queue:
			out, buf = s.collect(ev, buf[:0], skipThrough)
			if len(out) == 0 {
				continue // everything was a replay duplicate
			}
		}
		if err := write(w, flush, out); err != nil {
			return err
		}
		s.hub.metrics.writes.Inc()
		if cap(buf) > maxRetainedBuf {
			buf = nil
		}
		if timer != nil {
			timer.Reset(heartbeat)
		}
	}
}

// collect gathers first and whatever else is queued right now. A lone event is
// written from its shared frame without copying; several are copied into buf.
func (s *Subscriber) collect(first *Event, buf []byte, skipThrough uint64) (out, newBuf []byte) {
	var single *Event
	add := func(ev *Event) {
		if ev.Seq != 0 && ev.Seq <= skipThrough {
			return
		}
		switch {
		case single == nil && len(buf) == 0:
			single = ev
		case single != nil:
			buf = append(append(buf, single.Frame...), ev.Frame...)
			single = nil
		default:
			buf = append(buf, ev.Frame...)
		}
	}
	add(first)
	// Only what is queued now: a fast publisher must not keep one write open.
	for n := len(s.queue); n > 0; n-- {
		add(<-s.queue)
	}
	if single != nil {
		return single.Frame, buf
	}
	return buf, buf
}

func write(w io.Writer, flush func() error, p []byte) error {
	if _, err := w.Write(p); err != nil {
		return err
	}
	if flush != nil {
		return flush()
	}
	return nil
}
