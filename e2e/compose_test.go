package e2e_test

// This test holds docker-compose.yml to the code without running Docker: the
// services' real config keys, the nginx template's variables, the Dockerfiles
// and the binaries' healthcheck subcommand, the dev defaults and the stop and
// restart settings. (Running it for real: docker compose up --build, with
// ../shared/tools/docker-standins where no registry is reachable.)

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/herald-push/herald/e2e/launcher"
	apiconfig "github.com/herald-push/herald/services/api/config"
	kitconfig "github.com/herald-push/herald/services/kit/config"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root := repoRoot(t)
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: types.Mapping{},
	})
	if err != nil {
		t.Fatalf("loading docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return s
}

func env(s types.ServiceConfig) map[string]string {
	out := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// goServices are the Go services of the compose files, with their config
// keys and loaders.
var goServices = []goService{
	{"api", apiconfig.Keys(), func() error { _, _, err := apiconfig.Load(nil); return err }},
	{"stream", streamconfig.Keys(), func() error { _, _, err := streamconfig.Load(nil); return err }},
}

type goService struct {
	name string
	keys []kitconfig.Key
	load func() error
}

// checkEnv checks that every variable s sets is a HERALD_* config key of
// the service and that the service loads them (whose names the settings in
// its errors), and returns them.
func (g goService) checkEnv(t *testing.T, s types.ServiceConfig, whose string) map[string]string {
	t.Helper()
	e := env(s)
	for name, value := range e {
		if !strings.HasPrefix(name, kitconfig.EnvPrefix+"_") {
			t.Errorf("%s: %s is not a HERALD_* setting", g.name, name)
			continue
		}
		if !slices.ContainsFunc(g.keys, func(k kitconfig.Key) bool { return kitconfig.EnvName(k.Name) == name }) {
			t.Errorf("%s: %s is not a config key of the service", g.name, name)
		}
		t.Setenv(name, value)
	}
	if err := g.load(); err != nil {
		t.Errorf("%s: the service rejects %s settings: %v", g.name, whose, err)
	}
	return e
}

// port returns the port of a host:port or :port address.
func port(t *testing.T, addr string) string {
	t.Helper()
	if !strings.Contains(addr, ":") {
		return addr
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

// TestComposeServices checks each Go service: its HERALD_* variables are real
// config keys with valid values, its image is built by a Dockerfile that
// exists and installs the binary the healthcheck runs.
func TestComposeServices(t *testing.T) {
	p := loadCompose(t)
	root := repoRoot(t)
	for _, tt := range goServices {
		t.Run(tt.name, func(t *testing.T) {
			s := service(t, p, tt.name)
			e := tt.checkEnv(t, s, "compose's")
			if e["HERALD_HTTP_ADDR"] == "" || !strings.HasPrefix(e["HERALD_NATS_URL"], "nats://nats:") {
				t.Errorf("%s: HERALD_HTTP_ADDR=%q HERALD_NATS_URL=%q; want an address and the nats service", tt.name, e["HERALD_HTTP_ADDR"], e["HERALD_NATS_URL"])
			}

			binary := "/herald-" + tt.name
			if hc := s.HealthCheck; hc == nil || !slices.Equal([]string(hc.Test), []string{"CMD", binary, "healthcheck"}) {
				t.Errorf("%s: healthcheck %v, want [CMD %s healthcheck]", tt.name, hc, binary)
			}
			if s.Build == nil {
				t.Fatalf("%s: no build section", tt.name)
			}
			if s.Build.Context != root {
				t.Errorf("%s: build context %s, want the repository root", tt.name, s.Build.Context)
			}
			dockerfile, err := os.ReadFile(filepath.Join(s.Build.Context, s.Build.Dockerfile))
			if err != nil {
				t.Fatalf("%s: reading its Dockerfile: %v", tt.name, err)
			}
			for _, want := range []string{"./cmd/" + tt.name, "ENTRYPOINT [\"" + binary + "\"]", "CGO_ENABLED=0", "USER 65532"} {
				if !strings.Contains(string(dockerfile), want) {
					t.Errorf("%s: Dockerfile lacks %q", tt.name, want)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "services", tt.name, "cmd", tt.name, "main.go")); err != nil {
				t.Errorf("%s: the Dockerfile builds ./cmd/%s: %v", tt.name, tt.name, err)
			}
			// Every module directory the Dockerfile copies exists.
			for _, m := range regexp.MustCompile(`(?m)^COPY ([^ ]+)/go\.mod`).FindAllStringSubmatch(string(dockerfile), -1) {
				if _, err := os.Stat(filepath.Join(root, m[1], "go.mod")); err != nil {
					t.Errorf("%s: Dockerfile copies %s/go.mod: %v", tt.name, m[1], err)
				}
			}
		})
	}
	if r := service(t, p, "stream").Deploy; r == nil || r.Replicas == nil || *r.Replicas != 2 {
		t.Errorf("stream: deploy.replicas is not 2")
	}
}

// TestComposeNginx checks the front door against the template and the
// services it points at.
func TestComposeNginx(t *testing.T) {
	p := loadCompose(t)
	root := repoRoot(t)
	ng := service(t, p, "nginx")
	e := env(ng)

	tmpl, err := os.ReadFile(filepath.Join(root, "nginx", "templates", "herald.conf.template"))
	if err != nil {
		t.Fatal(err)
	}
	var provided []string
	for name := range e {
		if strings.HasPrefix(name, "HERALD_") {
			provided = append(provided, name)
		}
	}
	sort.Strings(provided)
	if used := launcher.TemplateVars(string(tmpl)); !slices.Equal(used, provided) {
		t.Errorf("nginx: template uses %v, compose provides %v", used, provided)
	}
	filter := regexp.MustCompile(e["NGINX_ENVSUBST_FILTER"])
	for _, name := range provided {
		if !filter.MatchString(name) {
			t.Errorf("nginx: NGINX_ENVSUBST_FILTER %q leaves %s unrendered", filter, name)
		}
	}
	if filter.MatchString("http_origin") || filter.MatchString("HOME") {
		t.Errorf("nginx: NGINX_ENVSUBST_FILTER %q lets envsubst touch other variables", filter)
	}

	mounts := map[string]string{}
	for _, v := range ng.Volumes {
		mounts[v.Target] = v.Source
	}
	if src := mounts["/etc/nginx/templates"]; src != filepath.Join(root, "nginx", "templates") {
		t.Errorf("nginx: /etc/nginx/templates is mounted from %q", src)
	}
	if src := mounts[e["HERALD_HTML_ROOT"]]; src != filepath.Join(root, "nginx", "html") {
		t.Errorf("nginx: HERALD_HTML_ROOT %s is mounted from %q, want nginx/html", e["HERALD_HTML_ROOT"], src)
	}

	listen := port(t, e["HERALD_NGINX_LISTEN"])
	tlsListen := strings.Fields(e["HERALD_NGINX_TLS_LISTEN"])
	if len(tlsListen) < 2 || tlsListen[1] != "ssl" {
		t.Fatalf("nginx: HERALD_NGINX_TLS_LISTEN %q, want \"<port> ssl\"", e["HERALD_NGINX_TLS_LISTEN"])
	}
	if len(ng.Ports) != 2 || ng.Ports[0].Published != "8080" || ng.Ports[0].Target != mustAtoi(t, listen) ||
		ng.Ports[1].Published != "8443" || ng.Ports[1].Target != mustAtoi(t, port(t, tlsListen[0])) {
		t.Errorf("nginx: ports %+v, want host 8080 to the listen port %s and 8443 to the TLS port %s", ng.Ports, listen, tlsListen[0])
	}

	// The upstreams name real services on the ports those services listen on.
	upstreams := map[string]string{"HERALD_API_UPSTREAM": "api", "HERALD_STREAM_UPSTREAMS": "stream"}
	server := regexp.MustCompile(`server ([a-z0-9_-]+):([0-9]+)( resolve)?;`)
	for variable, want := range upstreams {
		matches := server.FindAllStringSubmatch(e[variable], -1)
		if len(matches) == 0 {
			t.Errorf("nginx: %s=%q names no server host:port", variable, e[variable])
		}
		for _, m := range matches {
			if m[1] != want {
				t.Errorf("nginx: %s points at %s, want the %s service", variable, m[1], want)
				continue
			}
			if got := port(t, env(service(t, p, want))["HERALD_HTTP_ADDR"]); got != m[2] {
				t.Errorf("nginx: %s uses port %s, %s listens on %s", variable, m[2], want, got)
			}
		}
	}

	// "resolve" in an upstream needs nginx 1.27.3 or later and a resolver.
	if strings.Contains(e["HERALD_API_UPSTREAM"]+e["HERALD_STREAM_UPSTREAMS"], " resolve") {
		if e["HERALD_RESOLVER"] == "" {
			t.Errorf("nginx: upstreams use resolve but HERALD_RESOLVER is empty")
		}
		var major, minor int
		if _, err := fmt.Sscanf(ng.Image, "nginx:%d.%d", &major, &minor); err != nil || major < 1 || (major == 1 && minor < 27) {
			t.Errorf("nginx: image %s; upstream resolve needs nginx:1.27 (1.27.3+) or newer", ng.Image)
		}
	}

	// nginx must let through the largest body the api takes, and no more.
	api := env(service(t, p, "api"))
	largest := int64(0)
	for _, key := range []string{"api.body_limit", "api.batch_body_limit"} {
		v, ok := api[kitconfig.EnvName(key)]
		if !ok {
			v = keyDefault(t, apiconfig.Keys(), key)
		}
		n, err := kitconfig.ParseBytes(v)
		if err != nil {
			t.Fatalf("api %s: %v", key, err)
		}
		largest = max(largest, n)
	}
	if n, err := kitconfig.ParseBytes(e["HERALD_BODY_LIMIT"]); err != nil || n != largest {
		t.Errorf("nginx: HERALD_BODY_LIMIT %q (%d bytes), want the api's largest body limit, %d bytes", e["HERALD_BODY_LIMIT"], n, largest)
	}

	for _, dep := range []string{"api", "stream"} {
		if d, ok := ng.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("nginx: depends_on %s is %+v, want service_healthy", dep, d)
		}
	}
	for _, svc := range []string{"api", "stream"} {
		if d := service(t, p, svc).DependsOn["nats"]; d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s: depends_on nats is %+v, want service_healthy", svc, d)
		}
	}
	if hc := service(t, p, "nats").HealthCheck; hc == nil || len(hc.Test) == 0 {
		t.Errorf("nats: no healthcheck")
	}
}

func keyDefault(t *testing.T, keys []kitconfig.Key, name string) string {
	t.Helper()
	for _, k := range keys {
		if k.Name == name {
			if s, ok := k.Default.(string); ok {
				return s
			}
		}
	}
	t.Fatalf("no string key %s", name)
	return ""
}

func mustAtoi(t *testing.T, s string) uint32 {
	t.Helper()
	var n uint32
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("port %q is not a number", s)
		}
		n = n*10 + uint32(c-'0')
	}
	return n
}

// TestComposeOperations checks what #11 asked of compose: nginx stops in
// about 3s (worker_shutdown_timeout) and is pinned to a version with
// "resolve" and "http2 on"; HTTPS is set up by the mounted entrypoint script;
// every service restarts unless stopped and shares one healthcheck policy,
// which the Dockerfiles' HEALTHCHECK repeats; no Dockerfile has a "# syntax"
// line (it makes BuildKit pull a frontend image).
func TestComposeOperations(t *testing.T) {
	p := loadCompose(t)
	root := repoRoot(t)
	ng := service(t, p, "nginx")
	e := env(ng)

	if cmd := strings.Join(ng.Command, " "); !strings.Contains(cmd, "worker_shutdown_timeout 3s;") || !strings.Contains(cmd, "daemon off;") {
		t.Errorf("nginx: command %q, want -g 'daemon off; worker_shutdown_timeout 3s;'", cmd)
	}
	var major, minor int
	if _, err := fmt.Sscanf(ng.Image, "nginx:%d.%d", &major, &minor); err != nil || major != 1 || minor < 28 {
		t.Errorf("nginx: image %s, want a pinned nginx:1.28 or newer (upstream resolve, http2 on)", ng.Image)
	}
	if e["HERALD_HTTP2"] != "http2 on;" || strings.Contains(e["HERALD_NGINX_TLS_LISTEN"], "http2") {
		t.Errorf("nginx: HERALD_HTTP2 %q, TLS listen %q; nginx 1.28 takes \"http2 on;\", not the listen parameter", e["HERALD_HTTP2"], e["HERALD_NGINX_TLS_LISTEN"])
	}
	if f := strings.Fields(e["HERALD_ACCESS_LOG"]); len(f) != 2 || f[1] != "herald_access" {
		t.Errorf("nginx: HERALD_ACCESS_LOG %q, want a path and the herald_access format (it drops tokens)", e["HERALD_ACCESS_LOG"])
	}
	mounts := map[string]string{}
	for _, v := range ng.Volumes {
		mounts[v.Target] = v.Source
	}
	script := mounts["/docker-entrypoint.d/15-herald-tls.sh"]
	if fi, err := os.Stat(script); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("nginx: the TLS entrypoint script %q is not an executable file (%v)", script, err)
	}
	certDir := filepath.Dir(e["HERALD_TLS_CERT"])
	if mounts[certDir] != filepath.Join(root, "certs") || filepath.Dir(e["HERALD_TLS_KEY"]) != certDir {
		t.Errorf("nginx: HERALD_TLS_CERT %s / KEY %s are not in the ./certs mount (%v)", e["HERALD_TLS_CERT"], e["HERALD_TLS_KEY"], mounts)
	}
	for _, v := range []string{"HERALD_STREAM_CONN_LIMIT", "HERALD_API_BURST"} {
		if n := mustAtoi(t, e[v]); n == 0 {
			t.Errorf("nginx: %s is 0", v)
		}
	}
	if !regexp.MustCompile(`^[0-9]+r/[sm]$`).MatchString(e["HERALD_API_RATE"]) {
		t.Errorf("nginx: HERALD_API_RATE %q is not an nginx rate like 100r/s", e["HERALD_API_RATE"])
	}

	var policy *types.HealthCheckConfig
	for _, name := range []string{"nats", "api", "stream", "nginx"} {
		s := service(t, p, name)
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s: restart %q, want unless-stopped", name, s.Restart)
		}
		hc := s.HealthCheck
		if hc == nil || hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil || hc.StartPeriod == nil {
			t.Errorf("%s: healthcheck %+v lacks the shared policy", name, hc)
			continue
		}
		if policy == nil {
			policy = hc
		} else if *hc.Interval != *policy.Interval || *hc.Timeout != *policy.Timeout || *hc.Retries != *policy.Retries || *hc.StartPeriod != *policy.StartPeriod {
			t.Errorf("%s: healthcheck policy %v/%v/%d/%v differs from the others'", name, *hc.Interval, *hc.Timeout, *hc.Retries, *hc.StartPeriod)
		}
	}
	for _, name := range []string{"api", "stream"} {
		s := service(t, p, name)
		df, err := os.ReadFile(filepath.Join(s.Build.Context, s.Build.Dockerfile))
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?mi)^#\s*syntax\s*=`).Match(df) {
			t.Errorf("%s: Dockerfile has a # syntax line", name)
		}
		if policy != nil {
			want := fmt.Sprintf("HEALTHCHECK --interval=%v --timeout=%v --start-period=%v --retries=%d ",
				time.Duration(*policy.Interval), time.Duration(*policy.Timeout), time.Duration(*policy.StartPeriod), *policy.Retries)
			if !strings.Contains(string(df), want) {
				t.Errorf("%s: Dockerfile lacks %q (compose's policy)", name, want)
			}
		}
	}
}

// TestComposeDevDefaults checks the development credentials: NATS wants a
// user and password and both services send them; both services share the dev
// HMAC secret and grant anonymous clients the demo's channels only — exactly
// what scripts/dev and the launcher use (launcher.DevAuthEnv).
func TestComposeDevDefaults(t *testing.T) {
	p := loadCompose(t)
	cmd := service(t, p, "nats").Command
	flag := func(name string) string {
		if i := slices.Index(cmd, name); i >= 0 && i+1 < len(cmd) {
			return cmd[i+1]
		}
		return ""
	}
	user, pass := flag("--user"), flag("--pass")
	if user == "" || pass == "" {
		t.Fatalf("nats: command %v, want --user and --pass", cmd)
	}
	dev := map[string]string{}
	for _, kv := range launcher.DevAuthEnv() {
		k, v, _ := strings.Cut(kv, "=")
		dev[k] = v
	}
	for _, name := range []string{"api", "stream"} {
		e := env(service(t, p, name))
		if e["HERALD_NATS_USER"] != user || e["HERALD_NATS_PASSWORD"] != pass {
			t.Errorf("%s: NATS user %q password %q, nats wants %q %q", name, e["HERALD_NATS_USER"], e["HERALD_NATS_PASSWORD"], user, pass)
		}
		if strings.Contains(e["HERALD_NATS_URL"], "@") {
			t.Errorf("%s: credentials in HERALD_NATS_URL; use HERALD_NATS_USER/PASSWORD", name)
		}
		for k, want := range dev {
			if got := e[k]; got != want {
				t.Errorf("%s: %s=%q, want the dev default %q", name, k, got, want)
			}
		}
	}
}
