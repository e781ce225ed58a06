package launcher

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoNginx means no nginx binary was found; the message says how to get one.
var ErrNoNginx = errors.New("nginx not found: install it (Debian/Ubuntu: sudo apt-get install nginx-light or nginx; macOS: brew install nginx) or pass its path")

// FindNginx returns the nginx to run: path if given, else nginx on PATH, else
// the usual sbin locations (Debian keeps it in /usr/sbin, often not on a
// user's PATH).
func FindNginx(path string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%w (%v)", ErrNoNginx, err)
		}
		return path, nil
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/bin/nginx", "/opt/homebrew/bin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoNginx
}

// nginxDuration writes d in nginx's time syntax.
func nginxDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// writeNginxConfig lays out prefix as an nginx prefix directory: the rendered
// snippet in conf.d/herald.conf (which sets its own access_log), and a main
// nginx.conf that includes it and keeps the pid file, logs and temp files
// inside prefix, so it needs no root
// and no system paths. It is what the official image's own nginx.conf does,
// minus the parts that only make sense in a container.
func writeNginxConfig(prefix, snippet string) (string, error) {
	for _, d := range []string{"conf.d", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return "", fmt.Errorf("creating nginx directory: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(prefix, "conf.d", "herald.conf"), []byte(snippet), 0o644); err != nil {
		return "", fmt.Errorf("writing nginx snippet: %w", err)
	}
	// As root, nginx would start its workers as nobody, who cannot read a
	// private temp dir; as another user the directive is ignored.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;\n"
	}
	p := func(name string) string { return filepath.Join(prefix, name) }
	conf := user + `worker_processes 1;
# Open streams hold a stopping worker; after this it closes them (the
# clients reconnect) rather than keep SIGQUIT waiting for an hour.
worker_shutdown_timeout 3s;
pid ` + p("nginx.pid") + `;
error_log ` + p("logs/error.log") + ` info;

events {
    worker_connections 1024;
}

http {
    types {
        text/html                html htm;
        text/css                 css;
        text/javascript          js mjs;
        application/json         json map;
        image/svg+xml            svg;
        image/png                png;
        image/x-icon             ico;
        text/plain               txt;
        font/woff2               woff2;
    }
    default_type application/octet-stream;
    client_body_temp_path ` + p("tmp/body") + `;
    proxy_temp_path ` + p("tmp/proxy") + `;
    fastcgi_temp_path ` + p("tmp/fastcgi") + `;
    uwsgi_temp_path ` + p("tmp/uwsgi") + `;
    scgi_temp_path ` + p("tmp/scgi") + `;
    sendfile on;
    keepalive_timeout 65;

    include ` + p("conf.d/herald.conf") + `;
}
`
	path := p("nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", fmt.Errorf("writing nginx.conf: %w", err)
	}
	return path, nil
}

// nginxArgs runs nginx in the foreground with prefix's config; -e sends the
// messages nginx writes before it has read the config to our log too.
func nginxArgs(prefix, conf string, extra ...string) []string {
	args := []string{"-e", filepath.Join(prefix, "logs", "error.log"), "-p", prefix + string(filepath.Separator), "-c", conf}
	return append(args, extra...)
}

// TestNginxConfig renders the template at tmplPath with vars, and asks nginx
// (`nginx -t`) whether it accepts it; the error carries nginx's own words.
func TestNginxConfig(nginx, tmplPath, prefix string, vars map[string]string) error {
	tmpl, err := os.ReadFile(tmplPath)
	if err != nil {
		return fmt.Errorf("reading nginx template: %w", err)
	}
	snippet, err := Render(string(tmpl), vars)
	if err != nil {
		return err
	}
	conf, err := writeNginxConfig(prefix, snippet)
	if err != nil {
		return err
	}
	out, err := exec.Command(nginx, nginxArgs(prefix, conf, "-t")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nginx -t: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
