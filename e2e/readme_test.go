package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiconfig "github.com/herald-push/herald/services/api/config"
	kitconfig "github.com/herald-push/herald/services/kit/config"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// TestReadmeListsEveryKey keeps the README the truth about configuration:
// every key of both services is listed there (api keys may be listed in the
// api's own README, which the main README links to).
func TestReadmeListsEveryKey(t *testing.T) {
	root := repoRoot(t)
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	main, api := read("README.md"), read("services/api/README.md")
	check := func(service string, keys []kitconfig.Key, docs ...string) {
		for _, k := range keys {
			found := false
			for _, d := range docs {
				found = found || strings.Contains(d, "`"+k.Name+"`")
			}
			if !found {
				t.Errorf("%s key %s (%s) is not documented", service, k.Name, kitconfig.EnvName(k.Name))
			}
		}
	}
	check("stream", streamconfig.Keys(), main)
	check("api", apiconfig.Keys(), main, api)
	for _, cmd := range []string{"docker compose up --build", "scripts/dev", "scripts/test"} {
		if !strings.Contains(main, cmd) {
			t.Errorf("README does not give %q", cmd)
		}
	}
}
