package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/problem"
)

// errExpired ends a stream at its token's exp.
var errExpired = errors.New("the stream's token expired")

// authenticate reads the token (Bearer, ?access_token=, cookie) and writes
// the 401 itself when it is bad; ok is false then.
func (s *Handler) authenticate(w http.ResponseWriter, r *http.Request) (auth.Rights, bool) {
	rights, _, err := s.Auth.Authenticate(r, true)
	if err != nil {
		var e *auth.Error
		p := problem.New(http.StatusInternalServerError, "internal error")
		if errors.As(err, &e) {
			p = e.Problem()
		}
		s.Metrics.Requests.WithLabelValues("unauthorized").Inc()
		problem.Write(w, p)
		return auth.Rights{}, false
	}
	return rights, true
}

// authorize answers 401 (anonymous) or 403 (a token) when a channel of the
// request is not covered by a subscribe grant; ok is false then.
func (s *Handler) authorize(w http.ResponseWriter, rights auth.Rights, channels []string) bool {
	if ch, bad := rights.Uncovered(channels); bad {
		s.Metrics.Requests.WithLabelValues("forbidden").Inc()
		problem.Write(w, auth.Deny(rights, fmt.Sprintf("not allowed to subscribe to %q", ch)))
		return false
	}
	return true
}
