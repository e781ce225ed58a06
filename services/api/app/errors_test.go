package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/herald-push/herald/services/api/config"
)

// TestErrors checks every error status with its exact problem+json body,
// and that nothing was stored by any of these requests.
func TestErrors(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.BodyLimit = 100; c.BatchMax = 3 })
	long := strings.Repeat("a", 256)
	const pub = "/api/v1/channels/news/events"
	const js = "application/json"
	tests := []struct {
		name, method, path, ct, body string
		hdr                          []string
		status                       int
		detail                       string
	}{
		// 400: channel names
		{"wildcard star", "POST", "/api/v1/channels/news.*/events", js, `{"data":1}`, nil, 400,
			`invalid channel "news.*": channel name contains a wildcard; publish to a concrete channel`},
		{"wildcard gt escaped", "POST", "/api/v1/channels/news.%3E/events", js, `{"data":1}`, nil, 400,
			`invalid channel "news.>": channel name contains a wildcard; publish to a concrete channel`},
		{"empty token", "POST", "/api/v1/channels/a..b/events", js, `{"data":1}`, nil, 400,
			`invalid channel "a..b": channel name tokens must be 1 or more of [A-Za-z0-9_-] separated by single dots`},
		{"bad char", "POST", "/api/v1/channels/a%20b/events", js, `{"data":1}`, nil, 400,
			`invalid channel "a b": channel name tokens must be 1 or more of [A-Za-z0-9_-] separated by single dots`},
		{"too long", "POST", "/api/v1/channels/" + long + "/events", js, `{"data":1}`, nil, 400,
			`invalid channel "` + long[:64] + `…": channel name is longer than 255 bytes`},
		// 400: bodies
		{"unknown field", "POST", pub, js, `{"data":1,"x":2}`, nil, 400, `unknown field "x"`},
		{"truncated", "POST", pub, js, `{"data":`, nil, 400, `malformed JSON: unexpected end of the body`},
		{"trailing", "POST", pub, js, `{"data":1} x`, nil, 400, `malformed JSON: unexpected data after the value`},
		{"two objects", "POST", pub, js, `{"data":1}{"data":2}`, nil, 400, `malformed JSON: unexpected data after the value`},
		{"syntax", "POST", pub, js, `{"data":tru}`, nil, 400, `malformed JSON at byte 12: invalid character '}' in literal true (expecting 'e')`},
		{"empty json", "POST", pub, js, ``, nil, 400, `the body is empty; send a JSON object`},
		{"array body", "POST", pub, js, `[1]`, nil, 400, `the body must be a JSON object, not array`},
		{"null body", "POST", pub, js, `null`, nil, 400, `"data" is required (it may be null)`},
		{"no data", "POST", pub, js, `{"type":"a"}`, nil, 400, `"data" is required (it may be null)`},
		{"type not string", "POST", pub, js, `{"type":5,"data":1}`, nil, 400, `field "type" must be a string, not number`},
		{"invalid utf8 json", "POST", pub, js, "{\"data\":\"\xff\"}", nil, 400, `the body is not valid UTF-8`},
		{"invalid utf8 text", "POST", pub, "text/plain", "\xff", nil, 400, `the body is not valid UTF-8`},
		{"type query with json", "POST", pub + "?type=a", js, `{"data":1}`, nil, 400,
			`the type query parameter is only for text/plain bodies; put "type" in the JSON body`},
		{"bad idempotency key", "POST", pub, js, `{"data":1}`, []string{"Idempotency-Key", "a b"}, 400,
			`Idempotency-Key: idempotency key must be visible ASCII without spaces`},
		// 413
		{"body too large", "POST", pub, js, `{"data":"` + strings.Repeat("x", 100) + `"}`, nil, 413, `the body is larger than 100 bytes`},
		{"text too large", "POST", pub, "text/plain", strings.Repeat("x", 101), nil, 413, `the body is larger than 100 bytes`},
		// 415
		{"no content type", "POST", pub, "", `{"data":1}`, nil, 415, `missing Content-Type; send application/json or text/plain`},
		{"form", "POST", pub, "application/x-www-form-urlencoded", `data=1`, nil, 415,
			`Content-Type application/x-www-form-urlencoded is not supported; send application/json or text/plain`},
		{"latin1", "POST", pub, "text/plain; charset=latin1", `x`, nil, 415, `only the utf-8 charset is supported`},
		{"malformed ct", "POST", pub, "application/", `x`, nil, 415, `malformed Content-Type; send application/json or text/plain`},
		// 422: types
		{"system type", "POST", pub, js, `{"type":"herald.gap","data":1}`, nil, 422,
			`invalid type "herald.gap": event type may not start with "herald.": that prefix is reserved for system events`},
		{"multiline type", "POST", pub, js, `{"type":"a\nb","data":1}`, nil, 422,
			`invalid type "a\nb": event type must be a single line of visible characters (no spaces, control characters or invalid UTF-8)`},
		{"space type", "POST", pub + "?type=a%20b", "text/plain", `x`, nil, 422,
			`invalid type "a b": event type must be a single line of visible characters (no spaces, control characters or invalid UTF-8)`},
		{"empty type", "POST", pub, js, `{"type":"","data":1}`, nil, 422, `invalid type "": event type is empty`},
		{"long type", "POST", pub + "?type=" + strings.Repeat("t", 129), "text/plain", `x`, nil, 422,
			`invalid type "` + strings.Repeat("t", 64) + `…": event type is longer than 128 bytes`},
		// routing
		{"no route", "GET", "/nope", "", ``, nil, 404, `no route for /nope`},
		{"wrong method", "GET", "/api/v1/events", "", ``, nil, 405, `method GET is not allowed for /api/v1/events`},
		{"wrong method on channel", "DELETE", pub, "", ``, nil, 405, `method DELETE is not allowed for /api/v1/channels/news/events`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.ct, tt.body, tt.hdr...)
			if r.status != tt.status {
				t.Errorf("status %d, want %d", r.status, tt.status)
			}
			if want := problemBody(tt.status, tt.detail); r.body != want {
				t.Errorf("body\n got %s\nwant %s", r.body, want)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
	if r := e.do("GET", "/api/v1/events", "", ""); r.header.Get("Allow") != "OPTIONS, POST" {
		t.Errorf("405 Allow header %q", r.header.Get("Allow"))
	}
	info, err := e.stream().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("bad requests stored %d messages", info.State.Msgs)
	}
	_ = http.StatusOK
}
