package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeCluster holds docker-compose.cluster.yml (layered over
// docker-compose.yml, as its header says to run it) to the code: the single
// NATS node is off, three JetStream nodes each have a store volume and route
// to all three, the services are given every node and the api an R3 stream,
// and every HERALD_* variable is a real key the service accepts.
func TestComposeCluster(t *testing.T) {
	root := repoRoot(t)
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir: root,
		ConfigFiles: []types.ConfigFile{
			{Filename: filepath.Join(root, "docker-compose.yml")},
			{Filename: filepath.Join(root, "docker-compose.cluster.yml")},
		},
		Environment: types.Mapping{},
	})
	if err != nil {
		t.Fatalf("loading the cluster compose files: %v", err)
	}
	if _, err := p.GetService("nats"); err == nil {
		t.Errorf("the single nats service is still enabled")
	}
	nodes := []string{"nats-1", "nats-2", "nats-3"}
	var routes, urls []string
	for _, n := range nodes {
		routes = append(routes, fmt.Sprintf("nats://%s:6222", n))
		urls = append(urls, fmt.Sprintf("nats://%s:4222", n))
	}
	volumes := map[string]bool{}
	for _, n := range nodes {
		s := service(t, p, n)
		cmd := strings.Join(s.Command, " ")
		// Clients log in with the user and password the services send.
		api := env(service(t, p, "api"))
		login := "--user " + api["HERALD_NATS_USER"] + " --pass " + api["HERALD_NATS_PASSWORD"]
		for _, want := range []string{"-js", "-sd /data", "--name " + n, "--cluster_name herald", "--cluster nats://0.0.0.0:6222", "--routes " + strings.Join(routes, ","), login} {
			if !strings.Contains(cmd, want) {
				t.Errorf("%s: command %q lacks %q", n, cmd, want)
			}
		}
		if len(s.Volumes) != 1 || s.Volumes[0].Target != "/data" || volumes[s.Volumes[0].Source] {
			t.Errorf("%s: volumes %+v, want its own volume at /data", n, s.Volumes)
		} else {
			volumes[s.Volumes[0].Source] = true
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s: no healthcheck", n)
		}
	}
	for _, tt := range goServices {
		t.Run(tt.name, func(t *testing.T) {
			s := service(t, p, tt.name)
			e := tt.checkEnv(t, s, "the cluster's")
			if got := e["HERALD_NATS_URL"]; got != strings.Join(urls, ",") {
				t.Errorf("%s: HERALD_NATS_URL=%q, want every node: %s", tt.name, got, strings.Join(urls, ","))
			}
			if _, ok := s.DependsOn["nats"]; ok {
				t.Errorf("%s: still depends on the single nats service", tt.name)
			}
			for _, n := range nodes {
				if d, ok := s.DependsOn[n]; !ok || d.Condition != types.ServiceConditionHealthy {
					t.Errorf("%s: depends_on %s is %+v, want service_healthy", tt.name, n, d)
				}
			}
		})
	}
	if got := env(service(t, p, "api"))["HERALD_EVENTS_REPLICAS"]; got != "3" {
		t.Errorf("api: HERALD_EVENTS_REPLICAS=%q, want 3", got)
	}
}
