package report

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

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

// Throughput plots, over the run, delivered events per second (top) and
// the p99 and max latency of the events received in each second (bottom).
func Throughput(path string, r *scenario.Result) error {
	o := r.Options
	top := plot.New()
	top.Title.Text = fmt.Sprintf("%s %s: %d subscribers, %g ev/s (publishing from t=%.1fs)", o.Scenario, o.Label, o.Subscribers, o.Rate, r.PublishAt)
	top.Y.Label.Text = "delivered events/s"
	top.Y.Tick.Marker = intTicks{}
	top.Y.Min = 0
	bottom := plot.New()
	bottom.X.Label.Text = "seconds since the first connect"
	bottom.Y.Label.Text = "latency in that second (ms)"
	delivered := make(plotter.XYs, len(r.Ticks))
	p99 := make(plotter.XYs, len(r.Ticks))
	mx := make(plotter.XYs, len(r.Ticks))
	for i, t := range r.Ticks {
		delivered[i] = plotter.XY{X: t.T, Y: float64(t.Delivered)}
		p99[i] = plotter.XY{X: t.T, Y: t.P99}
		mx[i] = plotter.XY{X: t.T, Y: t.Max}
	}
	for _, s := range []struct {
		p    *plot.Plot
		name string
		xys  plotter.XYs
		c    color.Color
	}{
		{top, "delivered/s", delivered, color.RGBA{B: 200, A: 255}},
		{bottom, "p99", p99, color.RGBA{R: 200, A: 255}},
		{bottom, "max", mx, color.RGBA{R: 120, G: 120, B: 120, A: 255}},
	} {
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return fmt.Errorf("plotting %s: %w", s.name, err)
		}
		l.Color = s.c
		s.p.Add(l)
		s.p.Legend.Add(s.name, l)
	}
	for _, p := range []*plot.Plot{top, bottom} {
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.X.Min, p.X.Max = r.Ticks[0].T, r.Ticks[len(r.Ticks)-1].T
	}
	const w, h = 16 * vg.Centimeter, 12 * vg.Centimeter
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadX: vg.Millimeter, PadY: 2 * vg.Millimeter, PadLeft: vg.Millimeter, PadRight: 3 * vg.Millimeter}
	cs := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(cs[0][0])
	bottom.Draw(cs[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// intTicks labels an axis with plain integers (gonum's default prints 250000.00).
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', 0, 64)
		}
	}
	return ts
}
