// Package report turns scenario results into what people read: a JSON file
// for machines, a Markdown table for the docs, and PNG charts.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/herald-push/herald/bench/internal/scenario"
)

// WriteJSON writes results to path, indented.
func WriteJSON(path string, results []*scenario.Result) error {
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads what WriteJSON wrote.
func ReadJSON(path string) ([]*scenario.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*scenario.Result
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return out, nil
}

// Markdown writes one table row per run.
func Markdown(w io.Writer, results []*scenario.Result) error {
	var b strings.Builder
	b.WriteString("| scenario | via | subs | ev/s | events | delivered/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | connect p99 ms | lost | dup | id dup | reconnects | server CPU | server RSS | bench CPU | others' CPU | note |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		o := r.Options
		name := o.Scenario
		if o.Scenario == scenario.Channels {
			name = fmt.Sprintf("channels×%d", o.Channels)
			if o.Wildcard {
				name += " (wildcard)"
			}
		}
		var cpu float64
		var rss uint64
		for _, s := range r.Servers {
			cpu += s.CPUCores
			rss += s.RSSPeak
		}
		note := noteFor(r)
		rate := fmt.Sprint(o.Rate)
		if o.Scenario == scenario.Idle {
			rate = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %d | %d | %d | %d | %.2f | %s | %.2f | %.2f | %s |\n",
			name, o.Label, o.Subscribers, rate, r.Published, r.DeliveredPS, r.Latency.P50, r.Latency.P90, r.Latency.P99,
			r.Latency.P999, r.Latency.Max, r.ConnectTime.P99, r.Lost, r.Duplicates, r.IDDuplicates, r.Reconnects, cpu, mib(rss), r.BenchCPU, r.OtherCPU, note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func noteFor(r *scenario.Result) string {
	var parts []string
	if r.Options.Scenario == scenario.Idle {
		s := fmt.Sprintf("%.0f B server RSS/conn", r.IdleBytesPerConn)
		if len(r.IdlePerConnByName) > 1 {
			var names []string
			for n := range r.IdlePerConnByName {
				names = append(names, n)
			}
			slices.Sort(names)
			var by []string
			for _, n := range names {
				by = append(by, fmt.Sprintf("%s %.0f", n, r.IdlePerConnByName[n]))
			}
			s += " (" + strings.Join(by, " + ") + ")"
		}
		parts = append(parts, s)
	}
	if rr := r.Resume; rr != nil {
		parts = append(parts, fmt.Sprintf("dropped %d, caught up %d/%d, catch-up p50 %.0f ms max %.0f ms",
			rr.Dropped, rr.CaughtUp, rr.CaughtUp+rr.NotCaughtUp, rr.CatchUp.P50, rr.CatchUp.Max))
	}
	if r.DrainTimedOut {
		parts = append(parts, fmt.Sprintf("still delivering when the %.0f s drain bound hit: \"lost\" includes late events", r.Options.Drain.Seconds()))
	}
	if r.NoID > 0 {
		parts = append(parts, fmt.Sprintf("%d events without a numeric SSE id: id order not checked for them", r.NoID))
	}
	if r.PublishErrors > 0 {
		parts = append(parts, fmt.Sprintf("%d publish errors", r.PublishErrors))
	}
	if r.ConnectFails > 0 {
		parts = append(parts, fmt.Sprintf("%d connect failures", r.ConnectFails))
	}
	if r.Error != "" {
		parts = append(parts, strings.ReplaceAll(r.Error, "|", "/"))
	}
	parts = append(parts, "load "+firstField(r.Load[0])+"→"+firstField(r.Load[1]))
	return strings.Join(parts, "; ")
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// WriteAll writes results.json, results.md (a row per run), summary.md (a
// row per target) and the charts into dir.
func WriteAll(dir string, results []*scenario.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := WriteJSON(filepath.Join(dir, "results.json"), results); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "results.md"))
	if err != nil {
		return err
	}
	if err := Markdown(f, results); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	var sum strings.Builder
	if err := Summary(&sum, results); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte(sum.String()), 0o644); err != nil {
		return err
	}
	return Charts(dir, results)
}
