package auth

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Unsafe reports whether method changes state (what CSRF protection guards).
func Unsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// OriginAllowed is the CSRF rule for a cookie-authenticated write: its
// Origin must be one of allowed, exactly, or the request's own host. The
// browser sets Origin on every cross-site POST (a text/plain form or fetch
// included) and cannot be made to fake it; a missing Origin, or "null", is
// refused. "Same origin" compares host names only: nginx forwards the Host
// without its port, and cookies are not separated by port either.
func OriginAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return false
	}
	if slices.Contains(allowed, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return host != "" && strings.EqualFold(u.Hostname(), host)
}

func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}
