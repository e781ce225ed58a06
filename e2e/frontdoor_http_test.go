package e2e_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-push/herald/e2e/launcher"
)

// TestFrontDoorHeaders checks, at the HTTP level, what nginx adds on each
// route: CORS for allowed origins only (on errors too), the preflight answer,
// the page's security headers, problem+json for its own errors, and an
// unbuffered, uncompressed event stream.
func TestFrontDoorHeaders(t *testing.T) {
	const allowed = "http://app.example:3000"
	s := launcher.StartTB(t, launcher.Options{
		HTMLRoot:    probeRoot(t),
		Env:         frontDoorGrant,
		CORSOrigins: []string{"http://other.example", allowed},
		BodyLimit:   "2k",
	})
	big := strings.Repeat("x", 4096)
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		body       string
		wantStatus int
		want       map[string]string // header → exact value ("" = absent)
		wantBody   string            // substring
	}{
		{name: "nginx health", method: "GET", path: "/healthz", wantStatus: 200, wantBody: "ok"},
		{name: "api readiness through nginx", method: "GET", path: "/api/readyz", wantStatus: 200},
		{
			name: "page security headers", method: "GET", path: "/", wantStatus: 200,
			want: map[string]string{
				"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
				"Access-Control-Allow-Origin": "",
			},
			wantBody: "probe.js",
		},
		{
			name: "preflight from an allowed origin", method: "OPTIONS", path: "/api/v1/channels/x/events",
			header:     map[string]string{"Origin": allowed, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,idempotency-key"},
			wantStatus: 204,
			want: map[string]string{
				"Access-Control-Allow-Origin": allowed, "Access-Control-Allow-Credentials": "true", "Vary": "Origin",
				"Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
				"Access-Control-Allow-Headers": "Content-Type, Idempotency-Key, Last-Event-ID, X-Request-Id",
				"Access-Control-Max-Age":       "600",
			},
		},
		{
			name: "preflight from another origin", method: "OPTIONS", path: "/stream",
			header: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}, wantStatus: 204,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": ""},
		},
		{
			name: "an allowed origin with a suffix is another origin", method: "OPTIONS", path: "/api/v1/channels/x/events",
			header: map[string]string{"Origin": allowed + ".evil.example", "Access-Control-Request-Method": "POST"}, wantStatus: 204,
			want: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "a prefix of an allowed origin is another origin", method: "OPTIONS", path: "/api/v1/channels/x/events",
			header: map[string]string{"Origin": "http://app.example", "Access-Control-Request-Method": "POST"}, wantStatus: 204,
			want: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "publish from an allowed origin", method: "POST", path: "/api/v1/channels/hdr/events",
			header: map[string]string{"Origin": allowed, "Content-Type": "application/json"}, body: `{"data":1}`, wantStatus: 201,
			want: map[string]string{"Access-Control-Allow-Origin": allowed, "Access-Control-Allow-Methods": ""},
		},
		{
			name: "the api's own 400 keeps CORS headers", method: "POST", path: "/api/v1/channels/bad*/events",
			header: map[string]string{"Origin": allowed, "Content-Type": "application/json"}, body: `{"data":1}`, wantStatus: 400,
			want: map[string]string{"Access-Control-Allow-Origin": allowed, "Content-Type": "application/problem+json"},
		},
		{
			name: "body over the limit is nginx's 413 problem", method: "POST", path: "/api/v1/channels/hdr/events",
			header: map[string]string{"Origin": allowed, "Content-Type": "text/plain"}, body: big, wantStatus: 413,
			want:     map[string]string{"Access-Control-Allow-Origin": allowed, "Content-Type": "application/problem+json"},
			wantBody: `"status":413`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.BaseURL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			for k, want := range tt.want {
				if got := strings.Join(resp.Header.Values(k), ", "); got != want && !(k == "Content-Type" && strings.HasPrefix(got, want)) {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q lacks %q", body, tt.wantBody)
			}
		})
	}

	t.Run("event stream is neither buffered nor compressed", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.BaseURL+"/stream?channel=hdr", nil)
		req.Header.Set("Origin", allowed)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip handling
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("GET /stream = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("Content-Encoding %q on an event stream", ce)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != allowed {
			t.Errorf("Access-Control-Allow-Origin %q, want %q", got, allowed)
		}
		// The first frames arrive although the stream stays open: nothing
		// waits for a buffer to fill.
		buf := make([]byte, 1)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatalf("reading the first byte: %v", err)
		}
	})
}

// TestFrontDoorSkipsDeadReplica kills one replica and opens streams through
// nginx: least_conn keeps choosing the dead replica (it holds no streams), the
// connect is refused, and proxy_next_upstream sends each to the live one, so
// every stream opens.
func TestFrontDoorSkipsDeadReplica(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), Env: frontDoorGrant})
	if err := s.KillStream(0); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		req, _ := http.NewRequest("GET", s.BaseURL+"/stream?channel=dead", nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("stream %d: %d %s", i, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		t.Cleanup(func() { resp.Body.Close() })
	}
	if n, err := s.StreamConnections(1); err != nil || n != 4 {
		t.Fatalf("live replica holds %d connections (%v), want 4", n, err)
	}
}
