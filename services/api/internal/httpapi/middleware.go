package httpapi

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/herald-push/herald/services/kit/logging"
	"github.com/labstack/echo/v4"
)

// requestID takes the client's X-Request-Id (when sane) or makes one, echoes
// it and puts it in the request context for logs and published events.
func (s *server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := logging.IncomingRequestID(req)
		c.Response().Header().Set(logging.RequestIDHeader, id)
		c.SetRequest(req.WithContext(logging.WithRequestID(req.Context(), id)))
		return next(c)
	}
}

// observe writes the access log line and the request metric. It lets the
// error handler write the response first so the real status is recorded.
func (s *server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		route := c.Path()
		if !s.routes[route] {
			route = "unmatched"
		}
		status := strconv.Itoa(res.Status)
		s.Metrics.Requests.WithLabelValues(route, req.Method, status).Inc()
		level := slog.LevelInfo
		switch route {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug // probes every few seconds would drown the log
		}
		if !s.Log.Enabled(req.Context(), level) {
			return nil
		}
		path := req.URL.Path
		var conn []slog.Attr
		if id := c.Param("id"); id != "" {
			// A connection id is a capability: log its hash, never the id.
			h := logging.ConnHash(id)
			conn = []slog.Attr{slog.String("conn", h)}
			if strings.Contains(path, id) {
				path = strings.Replace(path, id, h, 1)
			} else {
				path = route
			}
		}
		attrs := []slog.Attr{
			slog.String("request_id", logging.RequestID(req.Context())),
			slog.String("method", req.Method), slog.String("path", path), slog.String("route", route),
			slog.Int("status", res.Status), slog.Int64("bytes_out", res.Size),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			// The peer is nginx in production; X-Forwarded-For is logged
			// as given, never trusted for anything.
			slog.String("remote", req.RemoteAddr),
		}
		attrs = append(attrs, conn...)
		if cause, ok := c.Get(causeKey).(string); ok {
			attrs = append(attrs, slog.String("cause", cause))
		}
		if xff := req.Header.Get("X-Forwarded-For"); xff != "" {
			attrs = append(attrs, slog.String("forwarded_for", xff))
		}
		s.Log.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}
