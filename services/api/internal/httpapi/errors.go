package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-push/herald/services/api/internal/control"
	"github.com/herald-push/herald/services/api/internal/store"
	"github.com/herald-push/herald/services/kit/problem"
	"github.com/labstack/echo/v4"
)

// retryAfter is what a 503 tells clients: NATS reconnects within about a
// second, so an immediate-but-not-hot retry is right.
const retryAfter = "1"

// causeKey holds, in the echo context, why a request was answered 503.
const causeKey = "herald.cause"

// handleError is echo's one HTTPErrorHandler: every error, from a handler,
// the router (404, 405) or a recovered panic, leaves as problem+json.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := s.toProblem(err, c)
	if p.Status >= 500 && p.Status != http.StatusServiceUnavailable {
		s.Log.ErrorContext(c.Request().Context(), "request failed", "err", err, "status", p.Status)
	}
	if p.Status == http.StatusServiceUnavailable {
		// the access log line says why (NATS down, no stream leader, ack
		// timeout), which the client's problem+json does not
		c.Set(causeKey, err.Error())
	}
	problem.Write(c.Response(), p)
}

func (s *server) toProblem(err error, c echo.Context) *problem.Problem {
	var p *problem.Problem
	var he *echo.HTTPError
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, store.ErrTooLarge):
		return problem.New(http.StatusRequestEntityTooLarge, "the event is larger than the event store accepts")
	case errors.Is(err, store.ErrUnavailable):
		return unavailable("the event store is unavailable; retry (with the same Idempotency-Key) shortly")
	case errors.Is(err, control.ErrUnavailable):
		return unavailable("NATS is unavailable; retry shortly")
	case errors.Is(err, control.ErrNotFound):
		return problem.New(http.StatusNotFound, "no live connection with this id")
	case errors.Is(err, control.ErrBadReply):
		return problem.New(http.StatusBadGateway, "the stream replica answered with an undecodable reply")
	case errors.As(err, &he):
		return httpErrorProblem(he, c)
	}
	return problem.New(http.StatusInternalServerError, "internal error")
}

func httpErrorProblem(he *echo.HTTPError, c echo.Context) *problem.Problem {
	req := c.Request()
	switch he.Code {
	case http.StatusNotFound:
		return problem.New(http.StatusNotFound, fmt.Sprintf("no route for %s", req.URL.Path))
	case http.StatusMethodNotAllowed:
		return problem.New(http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed for %s", req.Method, req.URL.Path))
	}
	detail := ""
	if m, ok := he.Message.(string); ok && m != http.StatusText(he.Code) {
		detail = m
	}
	if he.Code < 400 || he.Code > 599 {
		return problem.New(http.StatusInternalServerError, "internal error")
	}
	return problem.New(he.Code, detail)
}

func unavailable(detail string) *problem.Problem {
	p := problem.New(http.StatusServiceUnavailable, detail)
	p.Header = http.Header{"Retry-After": {retryAfter}}
	return p
}

func badRequest(format string, a ...any) *problem.Problem {
	return problem.New(http.StatusBadRequest, fmt.Sprintf(format, a...))
}

func unprocessable(format string, a ...any) *problem.Problem {
	return problem.New(http.StatusUnprocessableEntity, fmt.Sprintf(format, a...))
}
