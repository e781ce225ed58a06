package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-push/herald/bench/internal/report"
	"github.com/herald-push/herald/bench/internal/scenario"
)

func TestParse(t *testing.T) {
	c, err := parse([]string{"--subscribers", "1000, 10000", "--rate", "1,2.5", "--server-pids", "12,34",
		"--publish-header", "X-API-Key: k", "--publish-header", "X-Other: v"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.subscribers) != 2 || c.subscribers[1] != 10000 || c.rates[1] != 2.5 || c.serverPIDs[1] != 34 ||
		len(c.base.Target.PublishHeaders) != 2 || c.base.Target.PublishHeaders[0] != "X-API-Key: k" {
		t.Fatalf("parsed %+v", c)
	}
	for _, bad := range [][]string{
		{"--subscribers", "x"},
		{"--rate", ""},
		{"--via", "smoke-signals"},
		{"--publish-header", "no-colon"},
		{"--metrics-url", "http://10.0.0.1/metrics"},
		{"stray"},
	} {
		if _, err := parse(bad, io.Discard); err == nil {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

func TestRunRefusesNonLoopbackTargets(t *testing.T) {
	err := run(context.Background(), []string{"--sse-url", "http://192.0.2.1/stream?channel={channel}", "--out", t.TempDir()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v, want a loopback refusal", err)
	}
}

func TestReportMergesResultFiles(t *testing.T) {
	dir := t.TempDir()
	in := writeSample(t, dir, "a", "direct") + "," + writeSample(t, dir, "b", "nginx")
	var out strings.Builder
	if err := run(context.Background(), []string{"report", "-in", in, "-out", dir + "/merged"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "| fanout |") != 4 {
		t.Fatalf("merged table:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "| direct | 1 / 3 ms |") || !strings.Contains(out.String(), "| nginx | 1 / 3 ms |") {
		t.Fatalf("no side-by-side summary:\n%s", out.String())
	}
	if _, err := os.Stat(dir + "/merged/summary.md"); err != nil {
		t.Fatalf("summary.md: %v", err)
	}
	if _, err := os.Stat(dir + "/merged/latency-fanout-r1-compare.png"); err != nil {
		t.Fatalf("comparison chart: %v", err)
	}
}

func writeSample(t *testing.T, dir, name, label string) string {
	t.Helper()
	var rs []*scenario.Result
	for _, n := range []int{1000, 10000} {
		rs = append(rs, &scenario.Result{
			Options: scenario.Options{Scenario: scenario.Fanout, Subscribers: n, Rate: 1, Label: label},
			Latency: scenario.Percentiles{Count: 1, P50: 1, P90: 2, P99: 3, P999: 4, Max: 5},
		})
	}
	path := filepath.Join(dir, name+".json")
	if err := report.WriteJSON(path, rs); err != nil {
		t.Fatal(err)
	}
	return path
}
