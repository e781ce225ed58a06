package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/herald-push/herald/e2e/launcher"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	"go.yaml.in/yaml/v3"
)

// metricRE finds the metric names a PromQL expression reads. The
// dashboard only uses Herald's own metrics, the NATS exporter's gnatsd_*
// and Prometheus's up, so prefix matching is exact enough (and needs no
// PromQL parser, whose module pulls in most of Prometheus).
var metricRE = regexp.MustCompile(`\b(herald_[a-z0-9_]+|gnatsd_[a-z0-9_]+|up)\b`)

type dashboard struct {
	UID    string `json:"uid"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T, root string) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "observability/grafana/dashboards/herald.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard without uid or panels")
	}
	return d
}

// scrape returns the sample names of one /metrics page.
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	names := map[string]bool{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names[name] = true
	}
	return names
}

// TestDashboardMetricsExist: every herald_* metric the Grafana dashboard
// queries is in a real scrape of the api and a stream replica of the
// launcher's stack, after traffic that creates the labelled series (a
// publish, a refused publish, a stream, a resume, a disconnect).
// gnatsd_* come from the prometheus-nats-exporter, which is not run here.
func TestDashboardMetricsExist(t *testing.T) {
	root, err := launcher.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	d := readDashboard(t, root)
	// A short heartbeat: a client that left is noticed at the next write.
	s := launcher.StartTB(t, launcher.Options{Replicas: 1, Heartbeat: 100 * time.Millisecond, Env: []string{
		"HERALD_AUTH_ANONYMOUS_PUBLISH=obs", "HERALD_AUTH_ANONYMOUS_SUBSCRIBE=obs",
	}})

	pub := func(body string) int {
		res, err := http.Post(s.APIURL+"/api/v1/channels/obs/events", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	st, err := ssetest.Open(context.Background(), http.DefaultClient, s.StreamURLs[0]+"/stream?channel=obs", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Next(); err != nil { // herald.connected
		t.Fatal(err)
	}
	if c := pub(`{"data":1}`); c != 201 {
		t.Fatalf("publish: %d", c)
	}
	if c := pub(`{"data":2}`); c != 201 {
		t.Fatalf("publish: %d", c)
	}
	if ev, err := st.Next(); err != nil || ev.ID == "" {
		t.Fatalf("event: %+v %v", ev, err)
	}
	st.Close()
	// A resume from the first id (served from the ring).
	re, err := ssetest.Open(context.Background(), http.DefaultClient, s.StreamURLs[0]+"/stream?channel=obs", "1")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // herald.connected, then event 2
		if _, err := re.Next(); err != nil {
			t.Fatal(err)
		}
	}
	re.Close()
	// A 5xx-free failure: a batch that is refused whole is still a request
	// with a status; publish failures need NATS refusing an event, which
	// the default limits never do, so that series may be absent (below).
	if c := pub(`{"data":`); c != 400 {
		t.Fatalf("bad publish: %d", c)
	}

	names := scrape(t, s.APIURL+"/metrics")
	poll(t, "the stream's disconnect to be counted", func() bool {
		for n := range scrape(t, s.StreamURLs[0]+"/metrics") {
			names[n] = true
		}
		return names["herald_stream_disconnects_total"]
	})
	// Series that exist only once something rare happened (a counter vec
	// with no child yet is not exported at all).
	rare := []string{"herald_api_publish_failures_total"}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range metricRE.FindAllString(tg.Expr, -1) {
				if m == "up" || strings.HasPrefix(m, "gnatsd_") || slices.Contains(rare, m) {
					continue
				}
				if !names[m] {
					t.Errorf("panel %q queries %s, which no service exports", p.Title, m)
				}
			}
		}
	}
}

// TestPrometheusConfig parses observability/prometheus/prometheus.yml
// (promtool itself is not built here: its module is most of Prometheus)
// and checks that every job scrapes something, on the compose service
// names and ports, and that the Grafana provisioning points at the
// dashboard and at Prometheus.
func TestPrometheusConfig(t *testing.T) {
	root, err := launcher.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global struct {
			ScrapeInterval string `yaml:"scrape_interval"`
		} `yaml:"global"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Type  string   `yaml:"type"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	decodeStrictYAML(t, filepath.Join(root, "observability/prometheus/prometheus.yml"), &cfg)
	want := map[string]string{"herald-api": "api:8081", "herald-stream": "stream:8082", "nats": "nats-exporter:7777"}
	for _, sc := range cfg.ScrapeConfigs {
		var got []string
		for _, s := range sc.StaticConfigs {
			got = append(got, s.Targets...)
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				got = append(got, fmt.Sprintf("%s:%d", n, d.Port))
			}
		}
		if w, ok := want[sc.JobName]; !ok || !slices.Contains(got, w) {
			t.Errorf("job %q scrapes %v; want %q", sc.JobName, got, w)
		}
		delete(want, sc.JobName)
	}
	if len(want) > 0 {
		t.Errorf("jobs missing: %v", want)
	}

	var ds struct {
		Datasources []struct {
			UID, Type, URL string
		} `yaml:"datasources"`
	}
	decodeStrictYAML(t, filepath.Join(root, "observability/grafana/provisioning/datasources/prometheus.yml"), &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("datasource: %+v", ds)
	}
	compose, err := os.ReadFile(filepath.Join(root, "docker-compose.observability.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, mount := range []string{"./observability/prometheus/prometheus.yml:", "./observability/grafana/provisioning:", "./observability/grafana/dashboards:/var/lib/grafana/dashboards"} {
		if !strings.Contains(string(compose), mount) {
			t.Errorf("docker-compose.observability.yml does not mount %s", mount)
		}
	}
}

// TestComposeObservability loads docker-compose.yml with the override the
// way `docker compose -f … -f … --profile observability` does (compose-go,
// the loader Docker Compose uses): the profile adds Prometheus, the NATS
// exporter and Grafana; without it the stack is unchanged.
func TestComposeObservability(t *testing.T) {
	root, err := launcher.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	load := func(profiles ...string) *types.Project {
		p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir: root,
			ConfigFiles: []types.ConfigFile{
				{Filename: filepath.Join(root, "docker-compose.yml")},
				{Filename: filepath.Join(root, "docker-compose.observability.yml")},
			},
			Environment: types.Mapping{},
		}, func(o *loader.Options) { o.SetProjectName("herald", true); o.Profiles = profiles })
		if err != nil {
			t.Fatalf("loading the compose files: %v", err)
		}
		return p
	}
	on, off := load("observability"), load()
	for _, name := range []string{"prometheus", "grafana", "nats-exporter"} {
		if _, ok := on.Services[name]; !ok {
			t.Errorf("--profile observability has no %s", name)
		}
		if _, ok := off.Services[name]; ok {
			t.Errorf("%s runs without the profile", name)
		}
	}
	for _, name := range []string{"nats", "api", "stream", "nginx"} {
		if _, ok := on.Services[name]; !ok {
			t.Errorf("the override lost %s", name)
		}
	}
}

func decodeStrictYAML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(false)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// poll checks cond until it holds, failing after a deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for the condition
	}
}
