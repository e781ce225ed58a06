// Package app wires the api service together (NATS connection, event store,
// control client, HTTP handler) so that main and the end-to-end tests start
// exactly the same thing.
package app

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/api/internal/control"
	"github.com/herald-push/herald/services/api/internal/httpapi"
	"github.com/herald-push/herald/services/api/internal/metrics"
	"github.com/herald-push/herald/services/api/internal/presence"
	"github.com/herald-push/herald/services/api/internal/store"
	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/health"
	"github.com/herald-push/herald/services/kit/httpserver"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/nats-io/nats.go"
)

// shutdownGrace bounds how long requests in flight may finish at shutdown;
// the longest is a publish waiting for its ack (api.publish_timeout).
const shutdownGrace = 10 * time.Second

// App is one api instance.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	nc      *nats.Conn
	store   *store.Store
	auth    *auth.Verifier
	handler http.Handler

	storeCtx  context.Context
	stopStore context.CancelFunc
	storeDone sync.WaitGroup
}

// New connects to NATS (in the background if it is not up yet) and starts
// ensuring the event stream; until both are done the api answers 503.
func New(cfg config.Config, log *slog.Logger) (*App, error) {
	verifier, err := auth.New(cfg.Auth, log)
	if err != nil {
		return nil, err
	}
	nc, err := natsconn.Connect(cfg.NATS, "herald-api", log)
	if err != nil {
		verifier.Close()
		return nil, err
	}
	st, err := store.New(nc, cfg.Events, cfg.PublishTimeout, log)
	if err != nil {
		nc.Close()
		verifier.Close()
		return nil, err
	}
	pres, err := presence.New(nc, cfg.PresenceTimeout, cfg.PresencePrincipalsMax)
	if err != nil {
		nc.Close()
		verifier.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, nc: nc, store: st, auth: verifier}
	m := metrics.New()
	m.WatchFailover(func() uint64 { return nc.Stats().Reconnects }, st.Rechecks)
	a.handler = httpapi.New(httpapi.Deps{
		Config:    cfg,
		Store:     st,
		Control:   control.New(nc, cfg.ControlTimeout),
		Presence:  pres,
		Auth:      verifier,
		Metrics:   m,
		Log:       log,
		NATSCheck: health.Check{Name: "nats", Func: func(ctx context.Context) error { return natsconn.Check(ctx, nc) }},
	})
	a.storeCtx, a.stopStore = context.WithCancel(context.Background())
	a.storeDone.Go(func() { st.Run(a.storeCtx) })
	return a, nil
}

// Handler is the api's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// Ready reports nil once NATS is connected and the stream is ensured.
func (a *App) Ready(ctx context.Context) error { return a.store.Ready(ctx) }

// Run serves on ln until ctx is done, then lets requests in flight finish,
// closes the NATS connection and returns.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	defer a.Close()
	srv := httpserver.New(a.handler, a.log)
	a.log.Info("api listening", "addr", ln.Addr().String())
	err := httpserver.Serve(ctx, srv, ln, shutdownGrace)
	a.log.Info("api stopped", "err", err)
	return err
}

// Close stops the background work and closes the NATS connection. Run calls
// it; tests that only use Handler call it themselves. It is idempotent.
func (a *App) Close() {
	a.stopStore()
	a.storeDone.Wait()
	a.nc.Close()
	a.auth.Close()
}
