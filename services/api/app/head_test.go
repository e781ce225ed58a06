package app_test

import (
	"testing"
)

// Every GET route answers HEAD with GET's status and content type and no
// body (it was a 405).
func TestHeadOnGetRoutes(t *testing.T) {
	e := newEnv(t, nil)
	e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`)
	for _, path := range []string{
		"/healthz", "/readyz", "/metrics",
		"/api/v1/channels/news/events",
		"/api/v1/channels/bad..name/events",   // a 400 stays a 400
		"/api/v1/connections/nobody/channels", // a 404 stays a 404
	} {
		t.Run(path, func(t *testing.T) {
			get, head := e.do("GET", path, "", ""), e.do("HEAD", path, "", "")
			if head.status != get.status || head.header.Get("Content-Type") != get.header.Get("Content-Type") {
				t.Fatalf("HEAD %d %q, GET %d %q", head.status, head.header.Get("Content-Type"), get.status, get.header.Get("Content-Type"))
			}
			if head.body != "" {
				t.Fatalf("HEAD has a body: %q", head.body)
			}
		})
	}
}
