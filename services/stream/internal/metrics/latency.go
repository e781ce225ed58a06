package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Lag is the delivery-latency histogram: from the event's time (stamped by
// the api when it accepted the publish, before the JetStream ack) to this
// replica handing the event to its subscribers' queues. Writes follow at
// once unless a client is slow (counted by herald_stream_slow_disconnects_total).
// It lives in its own file and registry call so the hub is not touched.
type Lag struct{ h prometheus.Histogram }

// NewLag registers herald_stream_delivery_lag_seconds on reg.
func NewLag(reg prometheus.Registerer) *Lag {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "herald_stream_delivery_lag_seconds",
		Help: "Time from the api accepting a publish to this replica fanning the event out to its connections (live events only, not replays).",
		// 1 ms .. ~16 s: a healthy pipeline is a few ms; seconds mean a
		// stalled consumer or NATS link.
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	})
	reg.MustRegister(h)
	return &Lag{h: h}
}

// Observe records the lag of an event published at t; a zero t (a raw NATS
// publisher without a time) or a clock skew into the future is skipped.
func (l *Lag) Observe(t time.Time) {
	if l == nil || t.IsZero() {
		return
	}
	if d := time.Since(t); d >= 0 {
		l.h.Observe(d.Seconds())
	}
}
