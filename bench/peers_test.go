package bench_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/bench/internal/report"
	"github.com/herald-push/herald/e2e/launcher"
)

// TestPeersScript runs scripts/bench-peers against Nchan and Centrifugo at a
// tiny scale — the very configs, URL templates and publish requests a full
// run uses — and asserts that every event reached every subscriber and that
// the merged report has a row for each peer. It skips, saying so, when a
// peer is not installed (the script's own check: exit 2); Herald's side of
// the script is herald-bench --launch, which TestSmoke covers.
func TestPeersScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers and herald-bench four times")
	}
	root, err := launcher.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "bench-peers"),
		"--targets", "nchan,centrifugo", "--subscribers", "20", "--rates", "5", "--duration", "2s",
		"--idle-subscribers", "20", "--idle-duration", "1s", "--out", out,
		"--", "--settle", "1s", "--drain", "15s", "--source-ips", "2", "--dial-concurrency", "10")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 && strings.Contains(stderr.String(), "is not installed") {
		t.Skip(strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		t.Fatalf("bench-peers: %v\n%s\n%s", err, stdout, stderr.String())
	}
	results, err := report.ReadJSON(filepath.Join(out, "merged", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, r := range results {
		runs[r.Options.Label+" "+r.Options.Scenario]++
		switch r.Options.Scenario {
		case "fanout":
			if r.Published != 10 || r.PublishErrors != 0 || r.Expected != 200 || r.Delivered != r.Expected ||
				r.Lost != 0 || r.Duplicates != 0 || r.Foreign != 0 {
				t.Errorf("%s fan-out: published %d (%d errors), delivered %d of %d, lost %d, dup %d, foreign %d (%s)",
					r.Options.Label, r.Published, r.PublishErrors, r.Delivered, r.Expected, r.Lost, r.Duplicates, r.Foreign, r.Error)
			}
		case "idle":
			if r.Connected != 20 || len(r.Servers) == 0 || r.IdleBytesPerConn == 0 {
				t.Errorf("%s idle: connected %d, servers %d, %.0f B per connection", r.Options.Label, r.Connected, len(r.Servers), r.IdleBytesPerConn)
			}
		}
	}
	for _, k := range []string{"nchan fanout", "nchan idle", "centrifugo fanout", "centrifugo idle"} {
		if runs[k] != 1 {
			t.Errorf("runs %v: want one %q", runs, k)
		}
	}
	summary, err := os.ReadFile(filepath.Join(out, "merged", "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| nchan |", "| centrifugo |", "Made with `scripts/bench-peers --targets nchan,centrifugo"} {
		if !bytes.Contains(summary, []byte(want)) {
			t.Errorf("summary.md lacks %q:\n%s", want, summary)
		}
	}
	if !bytes.Contains(stdout, []byte("| nchan |")) {
		t.Errorf("the script did not print the summary:\n%s", stdout)
	}
}
