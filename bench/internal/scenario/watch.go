package scenario

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-push/herald/bench/internal/hist"
	"github.com/herald-push/herald/bench/internal/procstat"
)

// serverWatch follows the server processes through a run.
type serverWatch struct {
	mu     sync.Mutex // the ticker and the run both sample
	pids   []int
	before []procstat.Sample
	peak   []uint64
}

func watchServers(pids []int) *serverWatch {
	w := &serverWatch{pids: pids, peak: make([]uint64, len(pids))}
	w.before = w.sample()
	return w
}

func (w *serverWatch) sample() []procstat.Sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]procstat.Sample, len(w.pids))
	for i, p := range w.pids {
		out[i] = procstat.Read(p)
		w.peak[i] = max(w.peak[i], out[i].RSS)
	}
	return out
}

// report compares now with the start; cpu is per-process cores over the
// publishing window (nil when not measured).
func (w *serverWatch) report(now []procstat.Sample, cpu []float64) []Server {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Server, len(w.pids))
	for i := range w.pids {
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

func (t *ticker) markStart(time.Time) {}

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
			if wall > 0 && end[i].Alive {
				cpu[i] = (end[i].CPU - t.pubCPU[i].CPU) / wall
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
				if cur[i].Alive && prev[i].Alive {
					cpu += (cur[i].CPU - prev[i].CPU) / now.Sub(prevAt).Seconds()
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
