package auth

import (
	"net/http"
	"strings"
)

// Source says where a request's token came from.
type Source int

// Token sources, in the order they are looked for.
const (
	FromNone   Source = iota // no token: anonymous
	FromHeader               // Authorization: Bearer
	FromQuery                // ?access_token= (the stream's /stream only)
	FromCookie               // the auth.cookie_name cookie
)

// QueryParam carries the token of an EventSource that can send neither a
// header nor (cross-site) a cookie. Never log a URL that may hold it.
const QueryParam = "access_token"

// maxTokenBytes bounds a token before any parsing.
const maxTokenBytes = 8 << 10

// Extract finds the request's token: Authorization: Bearer first, then (when
// query is true) ?access_token=, then the cookie. A header or query value
// that is present but empty or not a bearer token is a malformed token —
// never silently anonymous. An empty cookie counts as absent (what a logout
// leaves).
func Extract(r *http.Request, cookieName string, query bool) (string, Source, error) {
	if h, ok := r.Header["Authorization"]; ok {
		scheme, tok, _ := strings.Cut(strings.TrimSpace(h[0]), " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return "", FromHeader, &Error{ReasonMalformed}
		}
		return tok, FromHeader, nil
	}
	if query {
		if vs, ok := r.URL.Query()[QueryParam]; ok {
			if vs[0] == "" {
				return "", FromQuery, &Error{ReasonMalformed}
			}
			return vs[0], FromQuery, nil
		}
	}
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		return c.Value, FromCookie, nil
	}
	return "", FromNone, nil
}

// Authenticate returns the rights of r: the anonymous rights without a
// token, the token's with a valid one, and an *Error (401) for a bad one.
// query allows ?access_token= (only /stream does).
func (v *Verifier) Authenticate(r *http.Request, query bool) (Rights, Source, error) {
	tok, src, err := Extract(r, v.cfg.CookieName, query)
	if err != nil {
		return Rights{}, src, err
	}
	if src == FromNone {
		return v.Anonymous(), src, nil
	}
	rights, err := v.Verify(r.Context(), tok)
	return rights, src, err
}
