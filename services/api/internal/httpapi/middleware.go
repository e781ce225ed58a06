package httpapi

import (
	"log/slog"
	"strconv"
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
		s.Log.Log(req.Context(), level, "request",
			"request_id", logging.RequestID(req.Context()),
			"method", req.Method, "path", req.URL.Path, "route", route,
			"status", res.Status, "bytes_out", res.Size,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"remote", c.RealIP())
		return nil
	}
}
