package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-push/herald/bench/internal/scenario"
)

func sample(n int, p99 float64) *scenario.Result {
	return &scenario.Result{
		Options:   scenario.Options{Scenario: scenario.Fanout, Subscribers: n, Rate: 1, Label: "direct"},
		Published: 10, DeliveredPS: float64(n),
		Latency: scenario.Percentiles{Count: 10, P50: 1, P90: 2, P99: p99, P999: p99, Max: p99},
		Ticks:   []scenario.Tick{{T: 1, Delivered: int64(n)}, {T: 2, Delivered: int64(n)}},
	}
}

func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	rs := []*scenario.Result{sample(1000, 3), sample(10000, 9)}
	if err := WriteAll(dir, rs); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.json", "results.md", "latency-fanout-direct-r1.png", "throughput-fanout-direct-n1000-r1.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	back, err := ReadJSON(filepath.Join(dir, "results.json"))
	if err != nil || len(back) != 2 || back[1].Latency.P99 != 9 {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	lines := strings.Split(strings.TrimSpace(string(md)), "\n")
	if len(lines) != 4 {
		t.Fatalf("markdown has %d lines:\n%s", len(lines), md)
	}
	// Every row has as many cells as the header.
	want := strings.Count(lines[0], "|")
	for _, l := range lines[1:] {
		if strings.Count(l, "|") != want {
			t.Fatalf("row %q has %d separators, header %d", l, strings.Count(l, "|"), want)
		}
	}
}
