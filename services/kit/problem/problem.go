// Package problem writes RFC 9457 problem+json error bodies, the one error
// shape of every Herald HTTP endpoint.
package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType of a problem body.
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem detail. It is also an error, so handlers can
// return it and one error handler writes it.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Reason is a short machine-readable code (an RFC 9457 extension
	// member), e.g. "expired" on a 401 from kit/auth.
	Reason string `json:"reason,omitempty"`
	// Header holds extra response headers, e.g. Retry-After for 503.
	Header http.Header `json:"-"`
}

// New returns a problem of this status with the standard title.
func New(status int, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// Write sends p as the response.
func Write(w http.ResponseWriter, p *Problem) {
	for k, vs := range p.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
