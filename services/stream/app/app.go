// Package app assembles the stream service: NATS connection, the ordered
// consumer feeding the hub, the control-request registry and the HTTP routes
// (/stream, /healthz, /readyz, /metrics). Tests and the e2e launcher run it
// in-process exactly as cmd/stream does.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/health"
	"github.com/herald-push/herald/services/kit/httpserver"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/consumer"
	"github.com/herald-push/herald/services/stream/internal/control"
	"github.com/herald-push/herald/services/stream/internal/httpapi"
	"github.com/herald-push/herald/services/stream/internal/hub"
	"github.com/herald-push/herald/services/stream/internal/metrics"
	"github.com/herald-push/herald/services/stream/internal/presence"
	"github.com/herald-push/herald/services/stream/internal/replay"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// App is one stream service instance.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	nc       *nats.Conn
	hub      *hub.Hub
	consumer *consumer.Consumer
	control  *control.Registry
	presence *presence.Server
	auth     *auth.Verifier
	sse      *httpapi.Handler // GET /stream
	handler  http.Handler

	shutdown     context.Context // done when the HTTP server starts shutting down
	stopAccepted context.CancelFunc
}

// New connects to NATS (in the background: NATS need not be up yet) and
// builds the service. Run serves it.
func New(cfg config.Config, log *slog.Logger) (*App, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)

	verifier, err := auth.New(cfg.Auth, log)
	if err != nil {
		return nil, err
	}
	nc, err := natsconn.Connect(cfg.NATS, "herald-stream", log)
	if err != nil {
		verifier.Close()
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		verifier.Close()
		return nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "herald_stream_nats_reconnects_total", Help: "Times the NATS connection was re-established after being lost.",
	}, func() float64 { return float64(nc.Stats().Reconnects) }))
	h := hub.New(hub.Options{
		QueueSize: cfg.QueueSize, QueueBytes: int(cfg.QueueBytes),
		RingSize: cfg.RingSize, RingBytes: int(cfg.RingBytes),
		Metrics: hub.NewMetrics(reg), Heartbeat: cfg.Heartbeat, WriteTimeout: cfg.WriteTimeout,
	})
	maxConns := cfg.ConnectionLimit()
	m.ConnLimit.Set(float64(maxConns))
	log.Info("stream limits", "max_connections", maxConns, "queue_bytes", cfg.QueueBytes, "ring_bytes", cfg.RingBytes)
	cons := consumer.New(js, h, cfg.RingSize, cfg.ConsumerHeartbeat, log, m)
	cons.Lag = metrics.NewLag(reg)
	ctl, err := control.New(nc, cfg.MaxChannels, log, m)
	if err != nil {
		nc.Close()
		verifier.Close()
		return nil, err
	}
	pres, err := presence.New(nc, ctl, log)
	if err != nil {
		_ = ctl.Close()
		nc.Close()
		verifier.Close()
		return nil, err
	}
	shutdown, stop := context.WithCancel(context.Background())
	a := &App{cfg: cfg, log: log, nc: nc, hub: h, consumer: cons, control: ctl, presence: pres, auth: verifier, shutdown: shutdown, stopAccepted: stop}

	sse := &httpapi.Handler{
		Opts: httpapi.Options{
			Heartbeat:    cfg.Heartbeat,
			Retry:        cfg.Retry,
			MaxChannels:  cfg.MaxChannels,
			MaxLifetime:  cfg.MaxLifetime,
			WriteTimeout: cfg.WriteTimeout,
			ReadyWait:    5 * time.Second,

			MaxConnections: maxConns,
		},
		Hub:      h,
		Replay:   replay.New(js, h, cons.FirstSeq, replay.Limits{Concurrency: cfg.ReplayConcurrency, FetchBytes: int(cfg.ReplayFetchBytes)}, log, m),
		Control:  ctl,
		Auth:     verifier,
		Ready:    cons.Ready(),
		Shutdown: shutdown,
		Log:      log,
		Metrics:  m,
	}
	a.sse = sse
	mux := http.NewServeMux()
	mux.Handle("GET /stream", sse)
	mux.HandleFunc("GET /healthz", health.Live)
	mux.Handle("GET /readyz", health.Ready(
		health.Check{Name: "nats", Func: func(ctx context.Context) error { return natsconn.Check(ctx, nc) }},
		health.Check{Name: "consumer", Func: cons.Check},
		health.Check{Name: "shutdown", Func: func(context.Context) error {
			if shutdown.Err() != nil {
				return errors.New("shutting down")
			}
			return nil
		}},
	))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	a.handler = mux
	return a, nil
}

// Handler serves every route. /stream needs Run to be running (it feeds the hub).
func (a *App) Handler() http.Handler { return a.handler }

// Connections is the number of streams this instance serves now.
func (a *App) Connections() int { return a.hub.Count() }

// Run serves HTTP on ln until ctx is done, then takes the SIGTERM path: stop
// accepting, tell every client to retry after a jittered delay, close the
// streams, and stop the consumer and NATS, within sse.shutdown_grace. Run
// closes ln and the NATS connection; an App runs once.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	cctx, stopConsumer := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.consumer.Run(cctx); err != nil {
			a.log.Error("consumer", "err", err)
		}
	})
	defer func() {
		stopConsumer()
		wg.Wait()
		if err := a.presence.Close(); err != nil {
			a.log.Warn("closing presence subscription", "err", err)
		}
		if err := a.control.Close(); err != nil {
			a.log.Warn("closing control subscription", "err", err)
		}
		a.nc.Close()
		a.auth.Close()
		a.hub.Close() // the writer pool, once Drain ended its streams
	}()

	// The grace clock starts when ctx is done and bounds both halves of the
	// shutdown: the server's, then the wait for the hijacked streams.
	graceCtx, graceUp := context.WithCancel(context.Background())
	defer graceUp()
	stopClock := context.AfterFunc(ctx, func() { time.AfterFunc(a.cfg.ShutdownGrace, graceUp) })
	defer stopClock()

	srv := httpserver.New(a.handler, a.log)
	// Shutdown closes the listener, then calls this: every stream sends its
	// retry frame and ends, so Shutdown's wait for idle connections is short.
	srv.RegisterOnShutdown(a.stopAccepted)
	a.log.Info("stream service listening", "addr", ln.Addr().String())
	err := httpserver.Serve(ctx, srv, ln, a.cfg.ShutdownGrace)
	a.stopAccepted() // also when Serve failed on its own
	// Streams run on hijacked connections, which Shutdown neither waits for
	// nor closes: wait for their retry frames here, before NATS is closed.
	dctx, cancel := context.WithTimeout(graceCtx, a.cfg.ShutdownGrace)
	defer cancel()
	if n := a.sse.Drain(dctx); n > 0 {
		a.log.Warn("closed streams still open at the end of the shutdown grace", "streams", n)
	}
	if err != nil {
		return fmt.Errorf("serving http: %w", err)
	}
	a.log.Info("stream service stopped")
	return nil
}
