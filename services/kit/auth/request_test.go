package auth_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/config"
)

func writeFile(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*http.Request)
		query  bool
		token  string
		src    auth.Source
		reason string
	}{
		{"nothing", func(*http.Request) {}, true, "", auth.FromNone, ""},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer h") }, true, "h", auth.FromHeader, ""},
		{"bearer lower case", func(r *http.Request) { r.Header.Set("Authorization", "bearer h") }, true, "h", auth.FromHeader, ""},
		{"header beats query and cookie", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer h")
			r.URL.RawQuery = "access_token=q"
			r.AddCookie(&http.Cookie{Name: "herald_token", Value: "c"})
		}, true, "h", auth.FromHeader, ""},
		{"query beats cookie", func(r *http.Request) {
			r.URL.RawQuery = "access_token=q"
			r.AddCookie(&http.Cookie{Name: "herald_token", Value: "c"})
		}, true, "q", auth.FromQuery, ""},
		{"query not allowed", func(r *http.Request) { r.URL.RawQuery = "access_token=q" }, false, "", auth.FromNone, ""},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "herald_token", Value: "c"}) }, false, "c", auth.FromCookie, ""},
		{"other cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "session", Value: "c"}) }, false, "", auth.FromNone, ""},
		{"empty cookie is absent", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "herald_token", Value: ""}) }, false, "", auth.FromNone, ""},
		{"basic auth", func(r *http.Request) { r.SetBasicAuth("u", "p") }, true, "", auth.FromHeader, auth.ReasonMalformed},
		{"empty bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, true, "", auth.FromHeader, auth.ReasonMalformed},
		{"empty query token", func(r *http.Request) { r.URL.RawQuery = "access_token=" }, true, "", auth.FromQuery, auth.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/stream?channel=a", nil)
			tt.mod(r)
			tok, src, err := auth.Extract(r, "herald_token", tt.query)
			if tok != tt.token || src != tt.src || reasonOf(err) != tt.reason {
				t.Errorf("got %q %v %q", tok, src, reasonOf(err))
			}
		})
	}
}

func TestOriginAllowed(t *testing.T) {
	allowed := []string{"https://app.example"}
	tests := []struct {
		host, origin string
		ok           bool
	}{
		{"herald.example", "https://herald.example", true},
		{"herald.example", "http://herald.example:8080", true},
		{"localhost:8080", "http://localhost:8080", true},
		{"herald.example", "https://app.example", true},
		{"herald.example", "https://app.example:444", false},
		{"herald.example", "https://evil.example", false},
		{"herald.example", "https://herald.example.evil.example", false},
		{"herald.example", "", false},
		{"herald.example", "null", false},
		{"herald.example", "not a url", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/api/v1/events", nil)
		r.Host = tt.host
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if got := auth.OriginAllowed(r, allowed); got != tt.ok {
			t.Errorf("host %s origin %q: %v, want %v", tt.host, tt.origin, got, tt.ok)
		}
	}
}

func TestProblems(t *testing.T) {
	w := httptest.NewRecorder()
	p := auth.Unauthorized(auth.ReasonExpired)
	writeProblem(w, p)
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Bearer realm="herald", error="invalid_token"` ||
		!strings.Contains(w.Body.String(), `"reason":"expired"`) {
		t.Errorf("401: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if h := auth.Unauthorized(auth.ReasonNoToken).Header.Get("WWW-Authenticate"); h != `Bearer realm="herald"` {
		t.Errorf("no_token challenge %q", h)
	}
	if p := auth.Deny(auth.Rights{Anonymous: true}, "x"); p.Status != 401 || p.Reason != auth.ReasonNoToken {
		t.Errorf("deny anonymous: %+v", p)
	}
	if p := auth.Deny(auth.Rights{Principal: "a"}, "x"); p.Status != 403 || p.Reason != auth.ReasonForbidden {
		t.Errorf("deny token: %+v", p)
	}
}

func TestReadConfig(t *testing.T) {
	v := viper.New()
	for _, k := range auth.APIKeys() {
		v.SetDefault(k.Name, k.Default)
	}
	v.Set("auth.anonymous.subscribe", "chat.*,ticker")
	v.Set("auth.allowed_origins", "https://a.example http://b.example:8080")
	r := config.NewReader(v)
	c := auth.ReadAPI(r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.AnonymousSubscribe, "|") != "chat.*|ticker" || len(c.AllowedOrigins) != 2 || !c.RequireExp ||
		c.CookieName != "herald_token" || c.Leeway != auth.DefaultLeeway {
		t.Errorf("config %+v", c)
	}
	v.Set("auth.anonymous.publish", "a.>.b")
	v.Set("auth.allowed_origins", "https://a.example/path")
	v.Set("auth.cookie_name", "bad name")
	r = config.NewReader(v)
	auth.ReadAPI(r)
	for _, key := range []string{"auth.anonymous.publish", "auth.allowed_origins", "auth.cookie_name"} {
		if err := r.Err(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
}

// TestStartupWarning: a service that can grant nothing says so once.
func TestStartupWarning(t *testing.T) {
	for name, tt := range map[string]struct {
		cfg  func(*auth.Config)
		warn bool
	}{
		"nothing":        {func(*auth.Config) {}, true},
		"secret":         {func(c *auth.Config) { c.HMACSecret = strings.Repeat("s", 32) }, false},
		"anonymous only": {func(c *auth.Config) { c.AnonymousSubscribe = []string{"ticker"} }, false},
	} {
		var buf bytes.Buffer
		cfg := auth.Default()
		tt.cfg(&cfg)
		v, err := auth.New(cfg, slog.New(slog.NewTextHandler(&buf, nil)))
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
		got := strings.Count(buf.String(), "every request will be refused")
		if (got == 1) != tt.warn || got > 1 {
			t.Errorf("%s: log %q", name, buf.String())
		}
	}
}
