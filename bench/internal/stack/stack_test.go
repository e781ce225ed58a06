package stack

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/herald-push/herald/e2e/launcher"
)

// TestNginxConfigAccepted renders the repository's template with the
// bench's values and its own main config, and asks nginx whether it accepts
// them: a new template variable or directive breaks here, not mid-benchmark.
func TestNginxConfigAccepted(t *testing.T) {
	bin, err := launcher.FindNginx("")
	if err != nil {
		t.Skipf("nginx not installed: %v", err)
	}
	root, err := launcher.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "nginx", "templates", "herald.conf.template"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := t.TempDir()
	vars, err := templateVars(bin, prefix, root, "127.0.0.1:1", "http://127.0.0.1:2", []string{"127.0.0.1:3", "127.0.0.1:4"})
	if err != nil {
		t.Fatal(err)
	}
	snippet, err := launcher.Render(string(tmpl), vars)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	conf, err := writeConfig(prefix, snippet)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", prefix+"/", "-c", conf, "-e", filepath.Join(prefix, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t rejected the bench config: %v\n%s", err, out)
	}
}
