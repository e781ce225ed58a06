package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// problem is the part of a problem+json body worth showing.
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Reason string `json:"reason"`
}

// codeFor maps an HTTP status to the exit code.
func codeFor(status int) int {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return exitNotAllowed
	case status >= 500:
		return exitUnavailable
	case status >= 400:
		return exitRefused
	}
	return exitFailure
}

// statusError turns a refused answer into an exitError with the
// problem's detail.
func statusError(res *http.Response, body []byte) error {
	var p problem
	msg := res.Status
	if json.Unmarshal(body, &p) == nil && p.Status != 0 {
		if p.Detail != "" {
			msg += ": " + p.Detail
		}
		if p.Reason != "" {
			msg += " (" + p.Reason + ")"
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && len(s) < 200 {
		msg += ": " + s
	}
	if ra := res.Header.Get("Retry-After"); ra != "" {
		msg += "; retry after " + ra + "s"
	}
	return fail(codeFor(res.StatusCode), "%s", msg)
}

// do sends one request and returns the status and body; a transport error
// is exit 1.
func do(ctx context.Context, c common, method, path, ct string, body io.Reader, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, body)
	if err != nil {
		return nil, nil, fail(exitUsage, "bad --url %q: %v", c.url, err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fail(exitFailure, "%v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, nil, fail(exitFailure, "reading the answer: %v", err)
	}
	return res, b, nil
}

func wantStatus(res *http.Response, body []byte, ok ...int) error {
	for _, s := range ok {
		if res.StatusCode == s {
			return nil
		}
	}
	if res.StatusCode < 400 {
		return fail(exitFailure, "unexpected answer %s", res.Status)
	}
	return statusError(res, body)
}

func pathEscape(s string) string {
	// Channel names are [A-Za-z0-9_-] and dots; only the wildcards need
	// escaping ('>' is not allowed raw in a path by some proxies).
	return strings.NewReplacer("*", "%2A", ">", "%3E").Replace(s)
}
