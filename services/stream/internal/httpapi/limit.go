package httpapi

import (
	"net/http"

	"github.com/herald-push/herald/services/stream/internal/sse"
)

// admit takes one of the replica's MaxConnections slots, or reports that
// none is free. The caller gives a taken slot back (stream.close does).
func (s *Stream) admit() bool {
	n := s.open.Add(1)
	if limit := s.Opts.MaxConnections; limit > 0 && n > int64(limit) {
		s.open.Add(-1)
		return false
	}
	return true
}

// refuse answers a stream request over MaxConnections. Not a 503: a native
// EventSource that gets a non-200 status (or another content type) fails
// for good and never reconnects. A 200 event stream that sets retry: and
// ends is a normal end of stream to it, so it comes back after the delay,
// by then perhaps on another replica or to a freed slot. The delay is
// jittered up to twice sse.retry so refused clients do not return at once.
// A resuming client loses nothing: its Last-Event-ID is unchanged.
func (s *Stream) refuse(w http.ResponseWriter) {
	s.Metrics.Requests.WithLabelValues("refused").Inc()
	s.Metrics.Refusals.WithLabelValues("max_connections").Inc()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "close")
	body := sse.AppendRetry(nil, jitter(s.Opts.Retry*3/2, 1.0/3))
	body = sse.AppendComment(body, "refused: this replica is at sse.max_connections; reconnect after the retry delay")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
