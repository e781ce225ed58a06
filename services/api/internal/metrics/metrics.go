// Package metrics holds the api's Prometheus metrics on their own registry
// (so tests and several in-process services never collide), all named
// herald_api_*.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics of one api instance.
type Metrics struct {
	reg *prometheus.Registry

	// Requests counts HTTP requests by route template, method and status.
	Requests *prometheus.CounterVec
	// PublishSeconds is the time from handing events to NATS to their acks.
	PublishSeconds prometheus.Histogram
	// Published counts events by result: stored or duplicate.
	Published *prometheus.CounterVec
	// PublishFailures counts events that were not stored, by reason.
	PublishFailures *prometheus.CounterVec
	// Limited counts requests a byte bound refused or cut short, by limit.
	Limited *prometheus.CounterVec
}

// New registers every metric on a fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_api_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		PublishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "herald_api_publish_duration_seconds",
			Help:    "Time from handing a request's events to JetStream to receiving every ack.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_api_events_published_total", Help: "Events acknowledged by JetStream, by result (stored, duplicate).",
		}, []string{"result"}),
		PublishFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_api_publish_failures_total", Help: "Events that could not be stored, by reason (unavailable, too_large, other).",
		}, []string{"reason"}),
	}
	m.Limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_api_limited_total",
		Help: "Requests a byte bound refused (413) or cut short, by limit: body_limit (data too large once encoded), batch_body_limit, history_bytes_max (page cut short, next continues).",
	}, []string{"limit"})
	for _, l := range []string{"body_limit", "batch_body_limit", "history_bytes_max"} {
		m.Limited.WithLabelValues(l)
	}
	reg.MustRegister(m.Requests, m.PublishSeconds, m.Published, m.PublishFailures, m.Limited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchFailover registers the failover counters: reconnects of the NATS
// connection (to the same or another server) and the times a publish found
// the event stream unreachable and the api began checking it again.
func (m *Metrics) WatchFailover(reconnects, streamRechecks func() uint64) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "herald_api_nats_reconnects_total", Help: "Times the NATS connection was re-established after being lost.",
		}, func() float64 { return float64(reconnects()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "herald_api_stream_rechecks_total", Help: "Times a publish found the event stream unreachable (no leader, no responders, missing) and the api checked it again.",
		}, func() float64 { return float64(streamRechecks()) }),
	)
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
