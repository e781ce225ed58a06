package scenario

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-push/herald/bench/internal/hist"
	"github.com/herald-push/herald/bench/internal/procstat"
)

// serverWatch follows the server processes through a run.
type serverWatch struct {
	mu      sync.Mutex // the ticker and the run both sample
	pids    []int
	before  []procstat.Sample
	peak    []uint64
	refresh func() []int
}

func watchServers(pids []int, refresh func() []int) *serverWatch {
	w := &serverWatch{pids: slices.Clone(pids), peak: make([]uint64, len(pids)), refresh: refresh}
	w.before = w.sample()
	return w
}

// sample reads every watched process. When one has died and refresh is set
// (a replica restarted after a kill has a new pid), the new processes join
// the watch with a zero "before": samples taken earlier are shorter, and
// every reader of them checks the length.
func (w *serverWatch) sample() []procstat.Sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]procstat.Sample, len(w.pids))
	dead := false
	for i, p := range w.pids {
		out[i] = procstat.Read(p)
		w.peak[i] = max(w.peak[i], out[i].RSS)
		dead = dead || !out[i].Alive
	}
	if dead && w.refresh != nil && w.before != nil {
		for _, p := range w.refresh() {
			if slices.Contains(w.pids, p) {
				continue
			}
			s := procstat.Read(p)
			w.pids = append(w.pids, p)
			w.before = append(w.before, procstat.Sample{PID: p, Name: s.Name})
			w.peak = append(w.peak, s.RSS)
			out = append(out, s)
		}
	}
	return out
}

// report compares now with the start; cpu is per-process cores over the
// publishing window (nil when not measured).
func (w *serverWatch) report(now []procstat.Sample, cpu []float64) []Server {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Server, min(len(w.pids), len(now)))
	for i := range out {
		out[i] = Server{PID: w.pids[i], Name: w.before[i].Name, RSSBefore: w.before[i].RSS, RSSAfter: now[i].RSS,
			RSSPeak: w.peak[i], Alive: now[i].Alive}
		if i < len(cpu) {
			out[i].CPUCores = cpu[i]
		}
	}
	return out
}

// ticker samples once a second and prints the progress line.
type ticker struct {
	r        *run
	pub      atomic.Pointer[pubState]
	mu       sync.Mutex
	start    time.Time
	pubStart time.Time
	pubCPU   []procstat.Sample
	selfCPU  float64
	machine  procstat.Machine
	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

func newTicker(r *run) *ticker {
	t := &ticker{r: r, start: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	go t.loop()
	return t
}

func (t *ticker) markPublish(at time.Time) {
	t.mu.Lock()
	t.pubStart = at
	t.mu.Unlock()
	t.r.res.PublishAt = at.Sub(t.start).Seconds()
	t.pubCPU = t.r.servers.sample()
	t.selfCPU = procstat.Read(os.Getpid()).CPU
	t.machine, _ = procstat.ReadMachine()
}

func (t *ticker) stop() {
	t.stopOnce.Do(func() { close(t.quit); <-t.done })
	r := t.r
	if t.pubCPU != nil && r.res.Servers == nil {
		end := r.servers.sample()
		cpu := make([]float64, len(end))
		wall := time.Since(t.pubStart).Seconds()
		for i := range end {
			var start float64 // a process born during the run counts from 0
			if i < len(t.pubCPU) {
				start = t.pubCPU[i].CPU
			}
			if wall > 0 && end[i].Alive {
				cpu[i] = (end[i].CPU - start) / wall
			}
		}
		r.res.Servers = r.servers.report(end, cpu)
		if wall > 0 {
			r.res.BenchCPU = (procstat.Read(os.Getpid()).CPU - t.selfCPU) / wall
			var servers float64
			for _, c := range cpu {
				servers += c
			}
			if m, err := procstat.ReadMachine(); err == nil {
				r.res.OtherCPU = max((m.Busy-t.machine.Busy)/wall-servers-r.res.BenchCPU, 0)
			}
		}
	}
}

func (t *ticker) loop() {
	defer close(t.done)
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	var lastRecv int64
	var lastLat hist.Histogram
	prev := t.r.servers.sample()
	prevAt := time.Now()
	prevSelf := procstat.Read(os.Getpid()).CPU
	prevMachine, _ := procstat.ReadMachine()
	for {
		select {
		case <-t.quit:
			return
		case now := <-tk.C:
			r := t.r
			recv := r.sh.Received.Load()
			cur := r.servers.sample()
			var cpu float64
			var rss uint64
			for i := range cur {
				var was float64
				if i < len(prev) && prev[i].Alive {
					was = prev[i].CPU
				}
				if cur[i].Alive {
					cpu += (cur[i].CPU - was) / now.Sub(prevAt).Seconds()
				}
				rss += cur[i].RSS
			}
			self := procstat.Read(os.Getpid()).CPU
			benchCPU := (self - prevSelf) / now.Sub(prevAt).Seconds()
			m, _ := procstat.ReadMachine()
			other := max((m.Busy-prevMachine.Busy)/now.Sub(prevAt).Seconds()-cpu-benchCPU, 0)
			prev, prevAt, prevSelf, prevMachine = cur, now, self, m
			var published int64
			if ps := t.pub.Load(); ps != nil {
				published = ps.done.Load()
			}
			tk := Tick{T: now.Sub(t.start).Seconds(), Connected: r.sh.Connected.Load(), Published: published,
				Delivered: recv - lastRecv, ServerCPU: cpu, ServerRSS: rss, BenchCPU: benchCPU, OtherCPU: other}
			lastRecv = recv
			r.res.Ticks = append(r.res.Ticks, tk)
			lat := r.sh.Latency.Snapshot()
			win := lat.Since(&lastLat)
			lastLat = *lat
			tk.P99 = float64(win.Quantile(0.99)) / 1000
			tk.Max = float64(win.Max()) / 1000
			r.res.Ticks[len(r.res.Ticks)-1] = tk
			fmt.Fprintf(r.o.Progress, "[%s %s n=%d r=%g] %5.0fs conn %d/%d pub %d recv %d (+%d/s) p99 %.1fms (last 1s %.1fms) max %.1fms reconn %d | server cpu %.2f rss %.0fMB | bench cpu %.2f | others cpu %.2f\n",
				r.o.Scenario, r.o.Label, r.o.Subscribers, r.o.Rate, tk.T, r.sh.Ready.Load(), r.o.Subscribers, published, recv, tk.Delivered,
				float64(lat.Quantile(0.99))/1000, tk.P99, float64(lat.Max())/1000, r.sh.Reconnects.Load(), cpu, float64(rss)/(1<<20), benchCPU, other)
		}
	}
}
