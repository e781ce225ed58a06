// Package httpapi is the api's HTTP surface: the echo routes of docs/ARCHITECTURE.md,
// request decoding and validation, and the one error handler that turns
// every error into problem+json. Handlers return errors; they never write
// error responses themselves.
package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/api/internal/control"
	"github.com/herald-push/herald/services/api/internal/metrics"
	"github.com/herald-push/herald/services/api/internal/openapi"
	"github.com/herald-push/herald/services/api/internal/presence"
	"github.com/herald-push/herald/services/api/internal/store"
	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/health"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Deps are what the handlers work with.
type Deps struct {
	Config  config.Config
	Store   *store.Store
	Control *control.Client
	// Presence gathers presence from the stream replicas.
	Presence *presence.Client
	// Auth decides what each request may do.
	Auth    *auth.Verifier
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// NATSCheck is the readiness check of the NATS connection.
	NATSCheck health.Check
}

type server struct {
	Deps
	routes map[string]bool // route templates, for the metrics' route label
}

// New returns the api's HTTP handler.
func New(d Deps) http.Handler { return newEcho(d) }

func newEcho(d Deps) *echo.Echo {
	s := &server{Deps: d, routes: map[string]bool{}}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.requestID, s.observe, middleware.RecoverWithConfig(middleware.RecoverConfig{
		// The panic becomes an error for handleError (a 500 problem+json);
		// the stack goes to the log, never to the client.
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.Log.ErrorContext(c.Request().Context(), "panic in handler", "err", err, "stack", string(stack))
			return err
		},
	}))

	v1 := e.Group("/api/v1")
	v1.POST("/channels/:channel/events", s.publish)
	getHead(v1, "/channels/:channel/events", s.history)
	getHead(v1, "/channels/:channel/presence", s.presence)
	v1.POST("/events", s.publishBatch)
	getHead(v1, "/connections/:id/channels", s.controlGet)
	v1.PUT("/connections/:id/channels", s.controlReplace)
	v1.POST("/connections/:id/channels", s.controlAdd)
	v1.DELETE("/connections/:id/channels/:channel", s.controlRemove)

	root := e.Group("")
	getHead(root, "/healthz", echo.WrapHandler(http.HandlerFunc(health.Live)))
	getHead(root, "/readyz", echo.WrapHandler(health.Ready(d.NATSCheck, health.Check{Name: "stream", Func: d.Store.Ready})))
	getHead(root, "/metrics", echo.WrapHandler(d.Metrics.Handler()))
	// nginx passes /api/ through with its prefix, so the document is
	// reachable there; /openapi.json is for a client talking to the api
	// directly.
	spec := echo.WrapHandler(http.HandlerFunc(openapi.Handler))
	getHead(root, "/openapi.json", spec)
	getHead(root, "/api/openapi.json", spec)

	for _, r := range e.Routes() {
		s.routes[r.Path] = true
	}
	return e
}

// getHead routes GET and HEAD to h: HTTP says a GET resource answers HEAD
// with the same status and headers (net/http drops the body of a HEAD).
func getHead(g *echo.Group, path string, h echo.HandlerFunc) {
	g.GET(path, h)
	g.HEAD(path, h)
}
