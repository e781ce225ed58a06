package e2e_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-push/herald/e2e/launcher"
)

// TestFrontDoorTemplateNginxAccepts renders nginx/templates/herald.conf.template
// with compose's values and with the launcher's kinds of values, and has the
// system nginx check each (`nginx -t`).
func TestFrontDoorTemplateNginxAccepts(t *testing.T) {
	nginx, err := launcher.FindNginx("")
	if errors.Is(err, launcher.ErrNoNginx) {
		t.Skip(err)
	}
	compose := env(service(t, loadCompose(t), "nginx"))
	// nginx -t resolves upstream host names; compose's exist only in Docker.
	// "resolve" needs nginx >= 1.27.3 (the image has it, Debian's 1.22 does
	// not), so the local check goes without it.
	loopback := strings.NewReplacer("server api:", "server 127.0.0.1:", "server stream:", "server 127.0.0.1:", " resolve;", ";")
	compose["HERALD_API_UPSTREAM"] = loopback.Replace(compose["HERALD_API_UPSTREAM"])
	compose["HERALD_STREAM_UPSTREAMS"] = loopback.Replace(compose["HERALD_STREAM_UPSTREAMS"])
	// The certificate exists only once the container's entrypoint made it,
	// and HTTP/2 is spelled as this nginx understands it.
	cert, key, err := launcher.SelfSignedCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	major, minor, patch, err := launcher.NginxVersion(nginx)
	if err != nil {
		t.Fatal(err)
	}
	tlsListen, http2 := launcher.HTTP2Vars(strings.Fields(compose["HERALD_NGINX_TLS_LISTEN"])[0], major, minor, patch)
	compose["HERALD_NGINX_TLS_LISTEN"], compose["HERALD_HTTP2"] = tlsListen, http2
	compose["HERALD_TLS_CERT"], compose["HERALD_TLS_KEY"] = cert, key
	compose["HERALD_ACCESS_LOG"] = filepath.Join(t.TempDir(), "access.log") + " herald_access"

	tlsListen, http2 = launcher.HTTP2Vars("127.0.0.1:18443", major, minor, patch)
	local := map[string]string{
		"HERALD_NGINX_LISTEN":        "127.0.0.1:18080",
		"HERALD_NGINX_TLS_LISTEN":    tlsListen,
		"HERALD_HTTP2":               http2,
		"HERALD_TLS_CERT":            cert,
		"HERALD_TLS_KEY":             key,
		"HERALD_STREAM_CONN_LIMIT":   "2",
		"HERALD_API_RATE":            "5r/s",
		"HERALD_API_BURST":           "1",
		"HERALD_ACCESS_LOG":          "off",
		"HERALD_API_UPSTREAM":        "server 127.0.0.1:18081;",
		"HERALD_STREAM_UPSTREAMS":    "server 127.0.0.1:18082; server 127.0.0.1:18083; server 127.0.0.1:18084;",
		"HERALD_CORS_ORIGINS":        "http://127.0.0.1:3000",
		"HERALD_BODY_LIMIT":          "64k",
		"HERALD_STREAM_READ_TIMEOUT": "1500ms",
		"HERALD_HTML_ROOT":           t.TempDir(),
		"HERALD_RESOLVER":            "127.0.0.1",
	}
	noCORS := map[string]string{}
	for k, v := range local {
		noCORS[k] = v
	}
	noCORS["HERALD_CORS_ORIGINS"] = ""

	tmpl := filepath.Join(repoRoot(t), "nginx", "templates", "herald.conf.template")
	tests := []struct {
		name string
		vars map[string]string
	}{
		{"docker-compose values", compose},
		{"launcher values, three replicas", local},
		{"empty CORS allowlist", noCORS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := launcher.TestNginxConfig(nginx, tmpl, t.TempDir(), tt.vars); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("a missing variable is an error, not an empty string", func(t *testing.T) {
		delete(local, "HERALD_BODY_LIMIT")
		err := launcher.TestNginxConfig(nginx, tmpl, t.TempDir(), local)
		if err == nil || !strings.Contains(err.Error(), "HERALD_BODY_LIMIT") {
			t.Fatalf("error = %v, want one naming HERALD_BODY_LIMIT", err)
		}
	})

	t.Run("nginx variables survive rendering", func(t *testing.T) {
		raw, err := os.ReadFile(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		out, err := launcher.Render(string(raw), compose)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"$http_origin", "$herald_refused_retry", "$herald_log_path$herald_log_query", "$binary_remote_addr", "$herald_cors_origin", "$request_method", "$proxy_add_x_forwarded_for", "$1;", `\1$"`} {
			if !strings.Contains(out, v) {
				t.Errorf("rendered config lost %s", v)
			}
		}
	})
}

// TestFrontDoorHTTP2Spelling pins which spelling each nginx version gets.
func TestFrontDoorHTTP2Spelling(t *testing.T) {
	tests := []struct {
		major, minor, patch int
		listen, directive   string
	}{
		{1, 22, 1, "a ssl http2", ""},
		{1, 25, 0, "a ssl http2", ""},
		{1, 25, 1, "a ssl", "http2 on;"},
		{1, 28, 0, "a ssl", "http2 on;"},
		{2, 0, 0, "a ssl", "http2 on;"},
	}
	for _, tt := range tests {
		l, d := launcher.HTTP2Vars("a", tt.major, tt.minor, tt.patch)
		if l != tt.listen || d != tt.directive {
			t.Errorf("%d.%d.%d: %q %q, want %q %q", tt.major, tt.minor, tt.patch, l, d, tt.listen, tt.directive)
		}
	}
}
