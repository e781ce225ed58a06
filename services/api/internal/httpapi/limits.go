package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-push/herald/services/kit/problem"
)

// checkStored applies api.body_limit to an event's data as it is stored and
// sent: after a text/plain body is escaped into a JSON string (a control
// byte becomes six, "\u0001") or a JSON body is compacted. Checking only
// the request body let a 64 KiB body of control bytes become a 393 KB event
// in every replica's ring and every subscriber's queue.
func (s *server) checkStored(data []byte) error {
	if int64(len(data)) <= s.Config.BodyLimit {
		return nil
	}
	s.Metrics.Limited.WithLabelValues("body_limit").Inc()
	return problem.New(http.StatusRequestEntityTooLarge, fmt.Sprintf(
		"data is %d bytes as stored (a text/plain body counts JSON-escaped), over the limit of %d bytes",
		len(data), s.Config.BodyLimit))
}

// countTooLarge records a 413 from readBody under limit.
func (s *server) countTooLarge(err error, limit string) error {
	var p *problem.Problem
	if errors.As(err, &p) && p.Status == http.StatusRequestEntityTooLarge {
		s.Metrics.Limited.WithLabelValues(limit).Inc()
	}
	return err
}
