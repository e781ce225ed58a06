package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	apiconfig "github.com/herald-push/herald/services/api/config"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// TestDocLinksResolve: every relative link of every tracked Markdown file
// points at a file or folder that exists, and nothing points at the frozen
// design file that is not in the repository (docs/ARCHITECTURE.md is).
func TestDocLinksResolve(t *testing.T) {
	root := repoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, rel := range strings.Fields(string(out)) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			continue // deleted in the work tree
		}
		if strings.Contains(string(b), "DESIGN"+".md") {
			t.Errorf("%s mentions %s; the design is docs/ARCHITECTURE.md", rel, "DESIGN"+".md")
		}
		if !strings.HasSuffix(rel, ".md") {
			continue
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.Dir(rel), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", rel, m[1])
			}
		}
	}
}

// TestArchitectureNamesRealThings: the routes and config keys that
// docs/ARCHITECTURE.md names exist in the code.
func TestArchitectureNamesRealThings(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs/ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	server, err := os.ReadFile(filepath.Join(root, "services/api/internal/httpapi/server.go"))
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile("`(GET|PUT|POST|DELETE) (/api/v1/[^` ]+)`").FindAllStringSubmatch(string(doc), -1)
	if len(routes) < 7 {
		t.Fatalf("found %d routes in ARCHITECTURE.md, want every api route", len(routes))
	}
	param := regexp.MustCompile(`\{(\w+)\}`)
	for _, r := range routes {
		path := param.ReplaceAllString(strings.TrimPrefix(r[2], "/api/v1"), ":$1")
		if !strings.Contains(string(server), `"`+path+`"`) {
			t.Errorf("ARCHITECTURE.md names %s %s; no such route in server.go", r[1], r[2])
		}
	}
	var keys []string
	for _, k := range append(apiconfig.Keys(), streamconfig.Keys()...) {
		keys = append(keys, k.Name)
	}
	named := regexp.MustCompile("`((?:sse|api|auth|nats|events|http|log|consumer)\\.[a-z_.]+)`").FindAllStringSubmatch(string(doc), -1)
	for _, m := range named {
		if !slices.Contains(keys, m[1]) {
			t.Errorf("ARCHITECTURE.md names config key %s, which neither service has", m[1])
		}
	}
}
