package report

import (
	"fmt"
	"image/color"
	"math"
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
	byCompare := map[string][]*scenario.Result{}
	var compareKeys []string
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		if err := LatencyVsSubscribers(filepath.Join(dir, "latency-"+k+".png"), k, g); err != nil {
			return err
		}
		ck := fmt.Sprintf("%s-r%g", g[0].Options.Scenario, g[0].Options.Rate)
		if _, ok := byCompare[ck]; !ok {
			compareKeys = append(compareKeys, ck)
		}
		byCompare[ck] = append(byCompare[ck], g...)
	}
	for _, ck := range compareKeys {
		if labels := distinctLabels(byCompare[ck]); len(labels) > 1 {
			if err := CompareLatency(filepath.Join(dir, "latency-"+ck+"-compare.png"), ck, byCompare[ck]); err != nil {
				return err
			}
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
	p.Y.Tick.Marker = logTicks{}
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
	bottom.Y.Tick.Marker = gTicks{}
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

func distinctLabels(rs []*scenario.Result) []string {
	var out []string
	for _, r := range rs {
		if !slices.Contains(out, r.Options.Label) {
			out = append(out, r.Options.Label)
		}
	}
	return out
}

// CompareLatency plots p50 and p99 against subscribers, one pair of lines
// per target label (e.g. direct vs nginx).
func CompareLatency(path, title string, rs []*scenario.Result) error {
	p := plot.New()
	p.Title.Text = "p50 and p99 latency vs subscribers (" + title + ")"
	p.X.Label.Text = "subscribers"
	p.Y.Label.Text = "publish → receive latency (ms, log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	for i, label := range distinctLabels(rs) {
		var mine []*scenario.Result
		for _, r := range rs {
			if r.Options.Label == label {
				mine = append(mine, r)
			}
		}
		slices.SortFunc(mine, func(a, b *scenario.Result) int { return a.Options.Subscribers - b.Options.Subscribers })
		for j, q := range []struct {
			name string
			get  func(scenario.Percentiles) float64
		}{{"p50", func(x scenario.Percentiles) float64 { return x.P50 }}, {"p99", func(x scenario.Percentiles) float64 { return x.P99 }}} {
			pts := make(plotter.XYs, len(mine))
			for k, r := range mine {
				pts[k] = plotter.XY{X: float64(r.Options.Subscribers), Y: max(q.get(r.Latency), 0.001)}
			}
			l, sc, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			l.Color, sc.Color, sc.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
			if j == 1 {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l, sc)
			p.Legend.Add(label+" "+q.name, l, sc)
		}
	}
	p.Add(plotter.NewGrid())
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}

// logTicks labels a log axis at 1, 2 and 5 times each power of ten.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= min && v <= max {
				ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 3, 64)})
			}
		}
	}
	return ts
}

// gTicks are the default ticks with short labels (gonum prints 5000.00).
type gTicks struct{}

func (gTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', 4, 64)
		}
	}
	return ts
}
