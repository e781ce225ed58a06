package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/herald-push/herald/bench/internal/scenario"
)

// Summary writes one row per target (run label), side by side: latency at
// the lowest and highest fan-out rate of the largest subscriber count,
// throughput, loss, memory per idle connection and server CPU at the highest
// rate. It is what scripts/bench-peers prints for Herald beside its peers.
func Summary(w io.Writer, results []*scenario.Result) error {
	var labels []string
	byLabel := map[string][]*scenario.Result{}
	for _, r := range results {
		l := r.Options.Label
		if _, ok := byLabel[l]; !ok {
			labels = append(labels, l)
		}
		byLabel[l] = append(byLabel[l], r)
	}
	rows := make([]summaryRow, 0, len(labels))
	for _, l := range labels {
		rows = append(rows, summarise(l, byLabel[l]))
	}
	// The header names the first target's load; a target measured at another
	// load says so in its cells.
	var ref summaryRow
	for _, r := range rows {
		if r.low != nil {
			ref = r
			break
		}
	}
	lowHead, highHead, cpuHead := "p50 / p99, lowest rate", "p99, highest rate", "server CPU, highest rate"
	if ref.low != nil {
		lowHead = "p50 / p99 at " + load(ref.low)
		highHead = "p99 at " + load(ref.high)
		cpuHead = fmt.Sprintf("server CPU at %s deliveries/s", count(float64(ref.high.Options.Subscribers)*ref.high.Options.Rate))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| target | %s | %s | delivered/s | lost / dup | memory per browser (idle) | %s | others' CPU |\n", lowHead, highHead, cpuHead)
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		low, high, cpu, dps, others := "–", "–", "–", "–", "–"
		if r.low != nil {
			low = fmt.Sprintf("%s / %s ms", ms(r.low.Latency.P50), ms(r.low.Latency.P99)) + other(r.low, ref.low)
			high = ms(r.high.Latency.P99) + " ms" + other(r.high, ref.high)
			dps = fmt.Sprintf("%.0f", r.high.DeliveredPS)
			cpu = cores(r.high.Servers)
			others = fmt.Sprintf("%.2f", r.high.OtherCPU)
		}
		lost := "–"
		if r.fanouts > 0 {
			lost = fmt.Sprintf("%d / %d", r.lost, r.dups)
		}
		mem := "–"
		if r.idle != nil {
			mem = perConn(r.idle)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.label, low, high, dps, lost, mem, cpu, others)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type summaryRow struct {
	label      string
	low, high  *scenario.Result // fan-out at the largest subscriber count, lowest and highest rate
	idle       *scenario.Result // the idle run with the most connections
	fanouts    int
	lost, dups uint64 // over every fan-out run of the target
}

func summarise(label string, rs []*scenario.Result) summaryRow {
	row := summaryRow{label: label}
	n := 0
	for _, r := range rs {
		switch r.Options.Scenario {
		case scenario.Fanout:
			n = max(n, r.Options.Subscribers)
			row.fanouts++
			row.lost += r.Lost
			row.dups += r.Duplicates + r.IDDuplicates
		case scenario.Idle:
			if r.Connected > 0 && (row.idle == nil || r.Connected > row.idle.Connected) {
				row.idle = r
			}
		}
	}
	for _, r := range rs {
		if r.Options.Scenario != scenario.Fanout || r.Options.Subscribers != n {
			continue
		}
		if row.low == nil || r.Options.Rate < row.low.Options.Rate {
			row.low = r
		}
		if row.high == nil || r.Options.Rate > row.high.Options.Rate {
			row.high = r
		}
	}
	return row
}

// load is "10k × 1 ev/s".
func load(r *scenario.Result) string {
	return fmt.Sprintf("%s × %g ev/s", count(float64(r.Options.Subscribers)), r.Options.Rate)
}

// other marks a cell measured at another load than the header's.
func other(r, ref *scenario.Result) string {
	if ref == nil || (r.Options.Subscribers == ref.Options.Subscribers && r.Options.Rate == ref.Options.Rate) {
		return ""
	}
	return " (" + load(r) + ")"
}

func count(v float64) string {
	switch {
	case v >= 1e6 && v == float64(int64(v/1e5))*1e5:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3 && v == float64(int64(v/100))*100:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// cores is the servers' CPU while publishing, split by process name when
// there are several kinds (nginx and stream).
func cores(servers []scenario.Server) string {
	by := map[string]float64{}
	var total float64
	for _, s := range servers {
		by[s.Name] += s.CPUCores
		total += s.CPUCores
	}
	out := fmt.Sprintf("%.2f cores", total)
	if len(by) > 1 {
		out += " (" + split(by, "%s %.2f") + ")"
	}
	return out
}

// perConn is the idle server RSS per connection in KiB, split by process
// name when there are several kinds.
func perConn(r *scenario.Result) string {
	out := fmt.Sprintf("%.1f KiB", r.IdleBytesPerConn/1024)
	if len(r.IdlePerConnByName) > 1 {
		kib := map[string]float64{}
		for n, v := range r.IdlePerConnByName {
			kib[n] = v / 1024
		}
		out += " (" + split(kib, "%s %.1f") + ")"
	}
	if r.Connected != r.Options.Subscribers {
		out += fmt.Sprintf(" over %d connections", r.Connected)
	}
	return out
}

func split(by map[string]float64, format string) string {
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf(format, n, by[n])
	}
	return strings.Join(parts, " + ")
}
