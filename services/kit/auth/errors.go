package auth

import (
	"net/http"

	"github.com/herald-push/herald/services/kit/problem"
)

// Reason codes of 401 and 403 answers (the "reason" member of the problem).
// They name the check that failed and nothing more.
const (
	ReasonNoToken      = "no_token"
	ReasonMalformed    = "malformed"
	ReasonBadSignature = "bad_signature"
	ReasonBadAlg       = "bad_alg"
	ReasonUnknownKid   = "unknown_kid"
	ReasonExpired      = "expired"
	ReasonNotYetValid  = "not_yet_valid"
	ReasonBadIssuer    = "bad_issuer"
	ReasonBadAudience  = "bad_audience"
	ReasonNoExp        = "no_exp"
	ReasonNoSub        = "no_sub"
	ReasonForbidden    = "forbidden"
	ReasonOrigin       = "origin"
)

var details = map[string]string{
	ReasonNoToken:      "a token is required: send Authorization: Bearer <jwt> or the auth cookie",
	ReasonMalformed:    "the token is not a well-formed JWT with valid Herald claims",
	ReasonBadSignature: "the token's signature does not verify",
	ReasonBadAlg:       "the token's alg is not accepted for its key",
	ReasonUnknownKid:   "the token's kid names no known key",
	ReasonExpired:      "the token has expired",
	ReasonNotYetValid:  "the token is not valid yet (nbf or iat in the future)",
	ReasonBadIssuer:    "the token's iss is not the expected issuer",
	ReasonBadAudience:  "the token's aud does not name this service",
	ReasonNoExp:        "the token has no exp",
	ReasonNoSub:        "the token has no sub",
}

// Error is a refused token: a 401 with its reason.
type Error struct{ Reason string }

func (e *Error) Error() string { return "unauthorized: " + e.Reason }

// Problem is the 401 answer.
func (e *Error) Problem() *problem.Problem { return Unauthorized(e.Reason) }

// Unauthorized is a 401 problem with the reason and a WWW-Authenticate
// challenge (RFC 6750: error="invalid_token" when a token was sent).
func Unauthorized(reason string) *problem.Problem {
	p := problem.New(http.StatusUnauthorized, details[reason])
	p.Reason = reason
	challenge := `Bearer realm="herald"`
	if reason != ReasonNoToken {
		challenge += `, error="invalid_token"`
	}
	p.Header = http.Header{}
	p.Header.Set("WWW-Authenticate", challenge)
	return p
}

// Forbidden is the 403 answer when the rights do not cover a channel.
func Forbidden(detail string) *problem.Problem {
	p := problem.New(http.StatusForbidden, detail)
	p.Reason = ReasonForbidden
	return p
}

// Deny is the answer when rights do not cover what was asked: an anonymous
// caller is told a token is needed (401 no_token), a token holder that its
// token does not grant it (403 forbidden).
func Deny(r Rights, detail string) *problem.Problem {
	if r.Anonymous {
		return Unauthorized(ReasonNoToken)
	}
	return Forbidden(detail)
}

// OriginRefused is the 403 answer to a cookie-authenticated write from an
// origin that is not allowed.
func OriginRefused() *problem.Problem {
	p := problem.New(http.StatusForbidden, "a cookie-authenticated write needs an Origin header naming this site or one of auth.allowed_origins")
	p.Reason = ReasonOrigin
	return p
}
