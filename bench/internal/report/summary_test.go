package report

import (
	"strings"
	"testing"

	"github.com/herald-push/herald/bench/internal/scenario"
)

func fanout(label string, n int, rate, p50, p99 float64, lost uint64, servers ...scenario.Server) *scenario.Result {
	return &scenario.Result{
		Options: scenario.Options{Scenario: scenario.Fanout, Subscribers: n, Rate: rate, Label: label},
		Latency: scenario.Percentiles{Count: 1, P50: p50, P99: p99}, DeliveredPS: float64(n) * rate,
		Lost: lost, Servers: servers,
	}
}

func idle(label string, n int, perConn float64, byName map[string]float64) *scenario.Result {
	return &scenario.Result{
		Options:   scenario.Options{Scenario: scenario.Idle, Subscribers: n, Label: label},
		Connected: n, IdleBytesPerConn: perConn, IdlePerConnByName: byName,
	}
}

func TestSummaryOneRowPerTarget(t *testing.T) {
	rs := []*scenario.Result{
		fanout("direct", 1000, 1, 9, 99, 0), // smaller run: not the one summarised
		fanout("direct", 10000, 1, 57, 107, 0),
		fanout("direct", 10000, 10, 90, 281, 0, scenario.Server{Name: "stream", CPUCores: 0.83}),
		idle("direct", 10000, 12.3*1024, map[string]float64{"stream": 12.3 * 1024}),
		fanout("nginx", 10000, 10, 150, 1530, 2, scenario.Server{Name: "stream", CPUCores: 0.41}, scenario.Server{Name: "nginx", CPUCores: 0.81}),
		fanout("nginx", 10000, 1, 147, 257, 1),
		idle("nginx", 10000, 31.1*1024, map[string]float64{"nginx": 17.8 * 1024, "stream": 13.3 * 1024}),
		fanout("centrifugo", 5000, 1, 91, 194, 0), // another load: marked in its cells
		fanout("centrifugo", 5000, 10, 91, 5070, 0),
		idle("nchan", 2000, 10*1024, map[string]float64{"nginx": 10 * 1024}), // idle only
	}
	var b strings.Builder
	if err := Summary(&b, rs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 {
		t.Fatalf("want header, rule and 4 targets:\n%s", out)
	}
	cells := strings.Count(lines[0], "|")
	for _, l := range lines[1:] {
		if strings.Count(l, "|") != cells {
			t.Fatalf("row %q has %d separators, header %d", l, strings.Count(l, "|"), cells)
		}
	}
	for _, want := range []string{
		"| target | p50 / p99 at 10k × 1 ev/s | p99 at 10k × 10 ev/s |",
		"server CPU at 100k deliveries/s",
		"| direct | 57 / 107 ms | 281 ms | 100000 | 0 / 0 | 12.3 KiB | 0.83 cores |",
		"| nginx | 147 / 257 ms | 1530 ms | 100000 | 3 / 0 | 31.1 KiB (nginx 17.8 + stream 13.3) | 1.22 cores (nginx 0.81 + stream 0.41) |",
		"| centrifugo | 91 / 194 ms (5k × 1 ev/s) | 5070 ms (5k × 10 ev/s) |",
		"| nchan | – | – | – | – | 10.0 KiB | – |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
