package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-push/herald/services/api/config"
)

// FuzzPublish: whatever the body, content type, event type and channel, a
// publish answers 201, 400, 413, 415 or 422 (never a 500 or a panic), with
// a JSON body of the matching kind.
func FuzzPublish(f *testing.F) {
	e := newEnv(f, func(c *config.Config) { c.BodyLimit = 4096 })
	h := e.app.Handler()
	seeds := []struct{ ch, ct, typ, body string }{
		{"news", "application/json", "", `{"data":{"a":1}}`},
		{"news", "application/json", "", `{"type":"x","data":null}`},
		{"news", "application/json", "", `{"type":"herald.x","data":1}`},
		{"news", "application/json", "", `{"data":1,"x":2}`},
		{"news", "application/json", "", `{"data":"\ud800"}`},
		{"chat.*", "application/json", "", `{"data":1}`},
		{"a/b", "text/plain", "", `x`},
		{"news", "text/plain; charset=utf-8", "t", "multi\nline\r\n\x00"},
		{"news", "text/plain", "a\nb", "x"},
		{"news", "application/xml", "", "<a/>"},
		{"news", "", "", ""},
		{"news", "application/json", "", strings.Repeat("[", 5000)},
		{"news", "application/json", "", `{"data":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`},
	}
	for _, s := range seeds {
		f.Add(s.ch, s.ct, s.typ, s.body)
	}
	f.Fuzz(func(t *testing.T, ch, ct, typ, body string) {
		if ch == "" {
			ch = "news"
		}
		target := "/api/v1/channels/" + url.PathEscape(ch) + "/events"
		if typ != "" {
			target += "?type=" + url.QueryEscape(typ)
		}
		req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		wantCT := "application/problem+json"
		switch rec.Code {
		case 201:
			wantCT = "application/json"
		case 400, 413, 415, 422:
		default:
			t.Fatalf("status %d for ch=%q ct=%q type=%q body=%q: %s", rec.Code, ch, ct, typ, body, rec.Body)
		}
		if got := rec.Header().Get("Content-Type"); got != wantCT {
			t.Errorf("Content-Type %q, want %q", got, wantCT)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Errorf("invalid JSON response %q", rec.Body)
		}
	})
}
