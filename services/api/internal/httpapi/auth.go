package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/herald-push/herald/proto/channel"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/labstack/echo/v4"
)

// rights authenticates the request (Authorization: Bearer, else the auth
// cookie; the api never reads ?access_token=, which only /stream takes). A
// bad token is a 401; a cookie-authenticated write from an Origin that is
// neither this site nor in auth.allowed_origins is a 403 "origin", whatever
// its content type — that is the CSRF protection (a text/plain POST needs no
// preflight, so CORS alone would not stop it).
func (s *server) rights(c echo.Context) (auth.Rights, error) {
	req := c.Request()
	r, src, err := s.Auth.Authenticate(req, false)
	if src == auth.FromCookie && auth.Unsafe(req.Method) && !auth.OriginAllowed(req, s.Auth.Config().AllowedOrigins) {
		return auth.Rights{}, auth.OriginRefused()
	}
	if e, ok := err.(*auth.Error); ok {
		return auth.Rights{}, e.Problem()
	}
	return r, err
}

// canPublish refuses a channel the rights do not cover.
func canPublish(r auth.Rights, name string) error {
	if r.CanPublish(name) {
		return nil
	}
	return auth.Deny(r, fmt.Sprintf("not allowed to publish to %q", channel.Short(name)))
}

// canSubscribe refuses a pattern (history, control sets) the rights do
// not cover.
func canSubscribe(r auth.Rights, pattern string) error {
	if r.CanSubscribe(pattern) {
		return nil
	}
	return auth.Deny(r, fmt.Sprintf("not allowed to read %q", channel.Short(pattern)))
}

// msgID is the JetStream de-duplication id of an Idempotency-Key: scoped to
// the principal, so one client's key can never replay or swallow another's
// publish (anonymous callers share the principal "").
func msgID(principal, key string) string {
	sum := sha256.Sum256([]byte(principal + "\n" + key))
	return hex.EncodeToString(sum[:])
}
