// Package metrics holds the stream service's own Prometheus collectors (the
// hub registers its fan-out collectors itself). Every name starts with
// herald_stream_ and is registered on the app's own registry, never the
// global one, so several apps can run in one test process.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the service-level collectors.
type Metrics struct {
	Requests       *prometheus.CounterVec // result: ok, bad_request, unauthorized, forbidden, unavailable, refused
	Refusals       *prometheus.CounterVec // reason: max_connections
	ConnLimit      prometheus.Gauge       // sse.max_connections in effect
	Disconnects    *prometheus.CounterVec // reason: client, slow, write_timeout, shutdown, lifetime, expired, error
	Replays        *prometheus.CounterVec // source: none, ring, jetstream
	ReplayedEvents prometheus.Counter
	Gaps           prometheus.Counter
	ConsumerSeq    prometheus.Gauge
	ConsumerStarts prometheus.Counter
	// ConsumerRestarts counts consumer failovers by reason: no_heartbeat
	// (a stall: the server holding it died or hung), gap, deleted, error.
	ConsumerRestarts *prometheus.CounterVec
	DecodeErrors     prometheus.Counter
	Control          *prometheus.CounterVec // status: ok, invalid_channel, ...
}

// New builds the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_stream_requests_total", Help: "GET /stream requests by result.",
		}, []string{"result"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_stream_refusals_total", Help: "Stream requests refused with a retry: before subscribing, by reason.",
		}, []string{"reason"}),
		ConnLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_stream_max_connections", Help: "Streams this replica serves at once (sse.max_connections, or derived from the fd limit).",
		}),
		Disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_stream_disconnects_total", Help: "Streams ended, by reason.",
		}, []string{"reason"}),
		Replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_stream_replays_total", Help: "Resumes by where the missed events came from.",
		}, []string{"source"}),
		ReplayedEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_stream_replayed_events_total", Help: "Events sent by resumes.",
		}),
		Gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_stream_gaps_total", Help: "Resumes from an id older than what is retained.",
		}),
		ConsumerSeq: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_stream_consumer_last_seq", Help: "Stream sequence of the last event the consumer fanned out.",
		}),
		ConsumerStarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_stream_consumer_starts_total", Help: "Times the JetStream consumer was (re)created.",
		}),
		ConsumerRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_stream_consumer_restarts_total", Help: "Times the JetStream consumer failed and was recreated from the next sequence, by reason (no_heartbeat, gap, deleted, error).",
		}, []string{"reason"}),
		DecodeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_stream_decode_errors_total", Help: "Stored messages that were not a valid event and were skipped.",
		}),
		Control: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_stream_control_requests_total", Help: "Channel-change requests answered, by status.",
		}, []string{"status"}),
	}
	m.Refusals.WithLabelValues("max_connections")
	reg.MustRegister(m.Requests, m.Refusals, m.ConnLimit, m.Disconnects, m.Replays, m.ReplayedEvents, m.Gaps,
		m.ConsumerSeq, m.ConsumerStarts, m.ConsumerRestarts, m.DecodeErrors, m.Control)
	return m
}
