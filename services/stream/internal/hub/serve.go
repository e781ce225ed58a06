package hub

import (
	"context"
	"io"
	"time"

	"github.com/herald-push/herald/services/stream/internal/sse"
)

// heartbeatFrame is what an idle connection gets every heartbeat.
var heartbeatFrame = sse.AppendComment(nil, "hb")

// Serve is the subscriber's writer loop. It drains the queue, skipping events
// with 0 < Seq <= skipThrough (already sent during a replay), and writes
// what is queued at that moment as ONE w.Write followed by ONE flush()
// (coalescing: a burst costs one syscall, not one per event), up to the
// hub's WriteBytes per write: the rest goes in the next write. A lone event
// is written from its shared frame, never copied; several are copied into a
// buffer borrowed from the hub for the write only, so an idle or blocked
// connection holds no buffer of its own. When nothing was written for
// heartbeat (> 0), it writes ": hb\n\n" and flushes. flush may be nil.
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
	var next *Event // taken from the queue, but it did not fit the last write
	for {
		// A dropped subscriber stops at once: its client resumes from the last
		// id it got, so writing what is still queued would only delay that.
		select {
		case <-s.done:
			return s.Err()
		case <-ctx.Done():
			return nil
		default:
		}
		var out []byte
		var buf *[]byte
		if next != nil {
			out, buf, next = s.collect(next, skipThrough)
		} else {
			select {
			case <-ctx.Done():
				return nil
			case <-s.done:
				return s.Err()
			case <-tick:
				out = heartbeatFrame
				s.hub.metrics.heartbeats.Inc()
			case ev := <-s.queue:
				out, buf, next = s.collect(s.take(ev), skipThrough)
			}
		}
		if len(out) == 0 {
			continue // everything was a replay duplicate
		}
		err := write(w, flush, out)
		if buf != nil {
			*buf = (*buf)[:0]
			s.hub.bufs.Put(buf)
		}
		if err != nil {
			return err
		}
		s.hub.metrics.writes.Inc()
		if timer != nil {
			timer.Reset(heartbeat)
		}
	}
}

// collect gathers first and whatever else is queued right now, up to the
// hub's WriteBytes. It returns the bytes to write, the pooled buffer they
// are in (nil when out is a lone shared frame) and the event taken from the
// queue that did not fit (nil if none), which starts the next write.
func (s *Subscriber) collect(first *Event, skipThrough uint64) (out []byte, buf *[]byte, rest *Event) {
	limit := s.hub.writeBytes
	var single *Event
	// add reports false when ev does not fit this write.
	add := func(ev *Event) bool {
		if ev.Seq != 0 && ev.Seq <= skipThrough {
			return true
		}
		switch {
		case single == nil && buf == nil:
			single = ev
		case buf == nil:
			if len(single.Frame)+len(ev.Frame) > limit {
				return false
			}
			buf = s.hub.bufs.Get().(*[]byte)
			*buf = append(append(*buf, single.Frame...), ev.Frame...)
			single = nil
		default:
			if len(*buf)+len(ev.Frame) > limit {
				return false
			}
			*buf = append(*buf, ev.Frame...)
		}
		return true
	}
	add(first)
	// Only what is queued now: a fast publisher must not keep one write open.
	for n := len(s.queue); n > 0; n-- {
		ev := s.take(<-s.queue)
		if !add(ev) {
			rest = ev
			break
		}
	}
	switch {
	case single != nil:
		return single.Frame, nil, rest
	case buf != nil:
		return *buf, buf, rest
	}
	return nil, nil, rest
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
