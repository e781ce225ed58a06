package deploy_test

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	apiconfig "github.com/herald-push/herald/services/api/config"
	kitconfig "github.com/herald-push/herald/services/kit/config"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// render runs kustomize on dir, as `kustomize build dir` would, and returns
// each object's YAML.
func render(t *testing.T, dir string) [][]byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out [][]byte
	for _, r := range rm.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// rendered is the base, decoded strictly into the Kubernetes API types: an
// unknown or misspelled field, or a wrong type, fails — what kubeconform checks
// against the OpenAPI schemas, which are generated from these same types.
type rendered struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	ingresses   map[string]*networkingv1.Ingress
}

func decode(t *testing.T, docs [][]byte) rendered {
	t.Helper()
	r := rendered{map[string]*appsv1.Deployment{}, map[string]*corev1.Service{}, map[string]*autoscalingv2.HorizontalPodAutoscaler{}, map[string]*networkingv1.Ingress{}}
	for _, doc := range docs {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatal(err)
		}
		var obj any
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			d := &appsv1.Deployment{}
			r.deployments[head.Metadata.Name], obj = d, d
		case "v1 Service":
			s := &corev1.Service{}
			r.services[head.Metadata.Name], obj = s, s
		case "autoscaling/v2 HorizontalPodAutoscaler":
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			r.hpas[head.Metadata.Name], obj = h, h
		case "networking.k8s.io/v1 Ingress":
			i := &networkingv1.Ingress{}
			r.ingresses[head.Metadata.Name], obj = i, i
		default:
			t.Errorf("unexpected object %s %s", head.APIVersion, head.Kind)
			continue
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Errorf("%s %s does not match the Kubernetes API: %v", head.Kind, head.Metadata.Name, err)
		}
	}
	return r
}

// TestManifests: the base renders, every object is valid for its API type,
// and the services, probes, HPA and Ingresses point at what exists.
func TestManifests(t *testing.T) {
	r := decode(t, render(t, "k8s/base"))
	services := []struct {
		name string
		keys []kitconfig.Key
		load func() error
	}{
		{"herald-api", apiconfig.Keys(), func() error { _, _, err := apiconfig.Load(nil); return err }},
		{"herald-stream", streamconfig.Keys(), func() error { _, _, err := streamconfig.Load(nil); return err }},
	}
	for _, tt := range services {
		t.Run(tt.name, func(t *testing.T) {
			d := r.deployments[tt.name]
			if d == nil {
				t.Fatalf("no Deployment %s", tt.name)
			}
			if len(d.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("containers: %d, want 1", len(d.Spec.Template.Spec.Containers))
			}
			c := d.Spec.Template.Spec.Containers[0]
			env := map[string]string{}
			for _, e := range c.Env {
				if !slices.ContainsFunc(tt.keys, func(k kitconfig.Key) bool { return kitconfig.EnvName(k.Name) == e.Name }) {
					t.Errorf("env %s is not a config key of %s", e.Name, tt.name)
				}
				env[e.Name] = e.Value
				t.Setenv(e.Name, e.Value)
			}
			if err := tt.load(); err != nil {
				t.Errorf("the service rejects the manifest's settings: %v", err)
			}
			if n := strings.Count(env["HERALD_NATS_URL"], "nats://"); n != 3 {
				t.Errorf("HERALD_NATS_URL %q lists %d nodes, want the 3 of the NATS cluster", env["HERALD_NATS_URL"], n)
			}
			_, port, err := net.SplitHostPort(env["HERALD_HTTP_ADDR"])
			if err != nil {
				t.Fatalf("HERALD_HTTP_ADDR: %v", err)
			}
			if len(c.Ports) != 1 || fmt.Sprint(c.Ports[0].ContainerPort) != port {
				t.Errorf("container ports %+v, want %s", c.Ports, port)
			}
			if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
				t.Errorf("readiness probe %+v, want GET /readyz", p)
			}
			if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
				t.Errorf("liveness probe %+v, want GET /healthz", p)
			}
			if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("container is not read-only")
			}
			svc := r.services[tt.name]
			if svc == nil || svc.Spec.Selector["app.kubernetes.io/name"] != d.Spec.Template.Labels["app.kubernetes.io/name"] {
				t.Errorf("Service %s does not select the Deployment's pods", tt.name)
			}
		})
	}
	if got := envOf(r.deployments["herald-api"], "HERALD_EVENTS_REPLICAS"); got != "3" {
		t.Errorf("api HERALD_EVENTS_REPLICAS = %q, want 3", got)
	}
	// the stream replicas shut down within the pod's grace period
	stream := r.deployments["herald-stream"]
	grace, err := time.ParseDuration(envOf(stream, "HERALD_SSE_SHUTDOWN_GRACE"))
	if err != nil {
		t.Fatal(err)
	}
	if g := stream.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= grace {
		t.Errorf("terminationGracePeriodSeconds %v is not longer than sse.shutdown_grace %s", g, grace)
	}
	h := r.hpas["herald-stream"]
	if h == nil || h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != "herald-stream" {
		t.Errorf("HPA does not scale the stream Deployment: %+v", h)
	}
	si := r.ingresses["herald-stream"]
	if si == nil || si.Annotations["nginx.ingress.kubernetes.io/proxy-buffering"] != "off" ||
		si.Annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] != "3600" {
		t.Errorf("stream Ingress lacks unbuffered, hour-long reads: %+v", si)
	}
	for name, ing := range r.ingresses {
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				if r.services[p.Backend.Service.Name] == nil {
					t.Errorf("Ingress %s routes %s to a missing Service %s", name, p.Path, p.Backend.Service.Name)
				}
			}
		}
	}
}

func envOf(d *appsv1.Deployment, name string) string {
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TestNATSChart: the overlay that adds the official NATS chart names it and
// our values, which ask for a 3-node JetStream cluster with file storage.
// Rendering the chart needs helm and the chart repository, so CI checks the
// shapes only.
func TestNATSChart(t *testing.T) {
	raw, err := os.ReadFile("k8s/with-nats/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kusttypes.Kustomization
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatalf("with-nats/kustomization.yaml: %v", err)
	}
	if len(k.HelmCharts) != 1 || k.HelmCharts[0].Name != "nats" || k.HelmCharts[0].ReleaseName != "nats" || k.HelmCharts[0].ValuesFile != "../nats-values.yaml" {
		t.Errorf("helmCharts = %+v, want the nats chart as release nats with ../nats-values.yaml", k.HelmCharts)
	}
	raw, err = os.ReadFile("k8s/nats-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config struct {
			Cluster struct {
				Enabled  bool `json:"enabled"`
				Replicas int  `json:"replicas"`
			} `json:"cluster"`
			JetStream struct {
				Enabled   bool `json:"enabled"`
				FileStore struct {
					Enabled bool `json:"enabled"`
					PVC     struct {
						Enabled bool   `json:"enabled"`
						Size    string `json:"size"`
					} `json:"pvc"`
				} `json:"fileStore"`
			} `json:"jetstream"`
		} `json:"config"`
	}
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	c := v.Config
	if !c.Cluster.Enabled || c.Cluster.Replicas != 3 || !c.JetStream.Enabled || !c.JetStream.FileStore.Enabled || !c.JetStream.FileStore.PVC.Enabled || c.JetStream.FileStore.PVC.Size == "" {
		t.Errorf("nats values %+v, want a 3-node cluster with JetStream on a volume per node", c)
	}
}
