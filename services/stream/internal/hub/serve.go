package hub

import (
	"context"
	"io"
	"time"

	"github.com/herald-push/herald/services/stream/internal/sse"
)

// heartbeatFrame is what an idle connection gets every heartbeat.
var heartbeatFrame = sse.AppendComment(nil, "hb")

// heartbeat is the queued form of heartbeatFrame (the writer pool queues it).
var heartbeat = &Event{Frame: heartbeatFrame}

// Serve is a writer loop of the subscriber's own, for a connection the pool
// cannot write to (one net/http keeps: HTTP/2, a HEAD request, a test's
// ResponseWriter). It drains the queue, skipping events with
// 0 < Seq <= skipThrough (already sent during a replay), and writes what is
// queued at that moment as ONE w.Write followed by ONE flush() (coalescing:
// a burst costs one syscall, not one per event), up to the hub's WriteBytes
// per write: the rest goes in the next write. A lone event is written from
// its shared frame, never copied; several are copied into a buffer borrowed
// from the hub for the write only. When nothing was written for heartbeat
// (> 0), it writes ": hb\n\n" and flushes. flush may be nil.
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
	wake := make(chan struct{}, 1)
	s.qmu.Lock()
	s.wake = wake
	if len(s.pending) > 0 {
		wake <- struct{}{}
	}
	s.qmu.Unlock()
	defer func() {
		s.qmu.Lock()
		s.wake = nil
		s.qmu.Unlock()
	}()
	var evs []*Event
	done := s.Done()
	for {
		// A dropped subscriber stops at once: its client resumes from the last
		// id it got, so writing what is still queued would only delay that.
		select {
		case <-done:
			return s.Err()
		case <-ctx.Done():
			return nil
		default:
		}
		var out []byte
		var buf *[]byte
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			return s.Err()
		case <-tick:
			out = heartbeatFrame
			s.hub.metrics.heartbeats.Inc()
		case <-wake:
			var more bool
			s.qmu.Lock()
			evs, more = s.take(evs[:0], s.hub.writeBytes, skipThrough)
			s.qmu.Unlock()
			if more { // the rest goes in the next write
				select {
				case wake <- struct{}{}:
				default:
				}
			}
			if len(evs) > 1 {
				buf = s.hub.bufs.Get().(*[]byte)
			}
			if buf != nil {
				out = frames(evs, (*buf)[:0])
			} else if len(evs) == 1 {
				out = evs[0].Frame
			}
			clear(evs)
		}
		if len(out) == 0 {
			continue // everything was a replay duplicate
		}
		err := write(w, flush, out)
		if buf != nil {
			*buf = out[:0]
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

func write(w io.Writer, flush func() error, p []byte) error {
	if _, err := w.Write(p); err != nil {
		return err
	}
	if flush != nil {
		return flush()
	}
	return nil
}
