package hub

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the hub's Prometheus collectors.
type Metrics struct {
	subscribers prometheus.Gauge
	published   prometheus.Counter
	deliveries  prometheus.Counter
	slow        *prometheus.CounterVec // reason: queue_events, queue_bytes
	slowEvents  prometheus.Counter     // slow{reason="queue_events"}, resolved once: fan-out does not allocate
	slowBytes   prometheus.Counter     // slow{reason="queue_bytes"}
	writes      prometheus.Counter
	heartbeats  prometheus.Counter
	ringEvents  prometheus.Gauge
	ringBytes   prometheus.Gauge
}

// NewMetrics builds the herald_stream_* hub collectors and registers them with
// reg (nil: not registered). A collector that reg already holds is reused, so
// two hubs may share one registry.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_stream_subscribers", Help: "Subscribers (SSE connections) registered with the hub.",
		}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_stream_events_published_total", Help: "Events published into the hub.",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_stream_deliveries_total", Help: "Events queued for a subscriber (one per event per matching subscriber).",
		}),
		slow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_stream_slow_disconnects_total",
			Help: "Subscribers dropped because their queue was full, by reason: queue_events (sse.queue_size) or queue_bytes (sse.queue_bytes).",
		}, []string{"reason"}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_stream_writes_total", Help: "Coalesced writes (each followed by one flush) to SSE connections, heartbeats included.",
		}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_stream_heartbeats_total", Help: "Heartbeat comments written to idle SSE connections.",
		}),
		ringEvents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_stream_ring_events", Help: "Events held in the in-memory resume ring (bounded by sse.ring_size).",
		}),
		ringBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_stream_ring_bytes", Help: "Frame bytes held in the in-memory resume ring (bounded by sse.ring_bytes).",
		}),
	}
	if reg != nil {
		m.subscribers = register(reg, m.subscribers)
		m.published = register(reg, m.published)
		m.deliveries = register(reg, m.deliveries)
		m.slow = register(reg, m.slow)
		m.writes = register(reg, m.writes)
		m.heartbeats = register(reg, m.heartbeats)
		m.ringEvents = register(reg, m.ringEvents)
		m.ringBytes = register(reg, m.ringBytes)
	}
	m.slowEvents = m.slow.WithLabelValues("queue_events")
	m.slowBytes = m.slow.WithLabelValues("queue_bytes")
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
