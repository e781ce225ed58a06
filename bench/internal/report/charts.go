package report

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/herald-push/herald/bench/internal/scenario"
)

// Charts writes latency-vs-subscribers (one per scenario/via/rate group with
// at least two subscriber counts) and throughput-over-time per run.
func Charts(dir string, results []*scenario.Result) error {
	groups := map[string][]*scenario.Result{}
	var keys []string
	for _, r := range results {
		if r.Options.Scenario == scenario.Idle || r.Latency.Count == 0 {
			continue
		}
		k := fmt.Sprintf("%s-%s-r%g", r.Options.Scenario, r.Options.Label, r.Options.Rate)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		if err := LatencyVsSubscribers(filepath.Join(dir, "latency-"+k+".png"), k, g); err != nil {
			return err
		}
	}
	for _, r := range results {
		if len(r.Ticks) < 2 || r.Options.Scenario == scenario.Idle {
			continue
		}
		name := fmt.Sprintf("throughput-%s-%s-n%d-r%g.png", r.Options.Scenario, r.Options.Label, r.Options.Subscribers, r.Options.Rate)
		if err := Throughput(filepath.Join(dir, name), r); err != nil {
			return err
		}
	}
	return nil
}

// LatencyVsSubscribers plots p50/p90/p99/p99.9/max against subscriber count.
func LatencyVsSubscribers(path, title string, rs []*scenario.Result) error {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b *scenario.Result) int { return a.Options.Subscribers - b.Options.Subscribers })
	p := plot.New()
	p.Title.Text = "Latency vs subscribers (" + title + ")"
	p.X.Label.Text = "subscribers"
	p.Y.Label.Text = "publish → receive latency (ms, log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	series := []struct {
		name string
		get  func(scenario.Percentiles) float64
	}{
		{"p50", func(x scenario.Percentiles) float64 { return x.P50 }},
		{"p90", func(x scenario.Percentiles) float64 { return x.P90 }},
		{"p99", func(x scenario.Percentiles) float64 { return x.P99 }},
		{"p99.9", func(x scenario.Percentiles) float64 { return x.P999 }},
		{"max", func(x scenario.Percentiles) float64 { return x.Max }},
	}
	for i, s := range series {
		pts := make(plotter.XYs, len(rs))
		for j, r := range rs {
			// Log scale cannot show 0: clamp to 1 µs.
			pts[j] = plotter.XY{X: float64(r.Options.Subscribers), Y: max(s.get(r.Latency), 0.001)}
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plotting %s: %w", s.name, err)
		}
		l.Color = plotutil.Color(i)
		sc.Color = plotutil.Color(i)
		sc.Shape = plotutil.Shape(i)
		p.Add(l, sc)
		p.Legend.Add(s.name, l, sc)
	}
	p.Add(plotter.NewGrid())
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}

// Throughput plots delivered events per second over the run.
func Throughput(path string, r *scenario.Result) error {
	p := plot.New()
	o := r.Options
	p.Title.Text = fmt.Sprintf("Delivered events/s: %s %s, %d subscribers, %g ev/s", o.Scenario, o.Label, o.Subscribers, o.Rate)
	p.X.Label.Text = "seconds since start (connect phase included)"
	p.Y.Label.Text = "events/s"
	pts := make(plotter.XYs, len(r.Ticks))
	for i, t := range r.Ticks {
		pts[i] = plotter.XY{X: t.T, Y: float64(t.Delivered)}
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("plotting throughput: %w", err)
	}
	l.Color = color.RGBA{B: 200, A: 255}
	p.Add(l, plotter.NewGrid())
	p.Legend.Add("delivered/s", l)
	p.Legend.Top = true
	return p.Save(16*vg.Centimeter, 8*vg.Centimeter, path)
}
