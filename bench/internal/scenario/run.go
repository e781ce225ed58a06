package scenario

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/herald-push/herald/bench/internal/client"
	"github.com/herald-push/herald/bench/internal/hist"
	"github.com/herald-push/herald/bench/internal/ledger"
	"github.com/herald-push/herald/bench/internal/procstat"
	"github.com/herald-push/herald/bench/internal/schedule"
)

// ChannelName returns the name of channel i of a run.
func ChannelName(prefix string, i int) string { return fmt.Sprintf("%s.c%d", prefix, i) }

// run is the state of one run.
type run struct {
	o       Options
	res     *Result
	sh      *client.Shared
	subs    []*client.Subscriber
	servers *serverWatch
}

// Run executes the scenario. It returns a result even on error (with Error
// set) so partial numbers are not lost.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout())
	defer cancel()
	r := &run{o: o, res: &Result{Options: o, Started: time.Now().UTC()}, sh: client.NewShared(64)}
	r.res.Load[0] = loadavg()
	r.servers = watchServers(o.ServerPIDs, o.RefreshPIDs)
	r.res.MetricsBefore = scrape(ctx, o.MetricsURLs)
	err := r.exec(ctx)
	r.res.Load[1] = loadavg()
	r.res.ClientRSS = procstat.Read(os.Getpid()).RSS
	if err != nil {
		r.res.Error = err.Error()
	}
	return r.res, err
}

func (r *run) exec(ctx context.Context) error {
	subCtx, stopSubs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopSubs(); wg.Wait() }()

	tick := newTicker(r)
	defer tick.stop()

	if err := r.connect(subCtx, &wg); err != nil {
		return err
	}
	if r.o.Scenario == Idle {
		return r.idle(ctx, tick)
	}
	pub := r.publish(ctx, tick)
	r.drain(ctx, pub)
	r.res.MetricsAfter = scrape(ctx, r.o.MetricsURLs)
	tick.stop()
	stopSubs()
	wg.Wait()
	r.account(pub)
	return nil
}

// connect starts every subscriber with at most DialConcurrency connecting at
// once and waits until each is ready or has failed, or ConnectTimeout passes.
func (r *run) connect(ctx context.Context, wg *sync.WaitGroup) error {
	o := r.o
	ready := make(chan int, o.Subscribers)
	failed := make(chan int, o.Subscribers)
	slots := make(chan struct{}, o.DialConcurrency)
	r.subs = make([]*client.Subscriber, o.Subscribers)
	start := time.Now()
	for i := range o.Subscribers {
		ch, n, name := i%o.Channels, 1, ChannelName(o.Prefix, i%o.Channels)
		if o.Wildcard {
			ch, n, name = 0, o.Channels, o.Prefix+".*"
		}
		u, err := o.Target.StreamURL(name)
		if err != nil {
			return fmt.Errorf("building stream url: %w", err)
		}
		r.subs[i] = &client.Subscriber{ID: i, Ledger: ledger.NewSub(ch, n), Opts: client.Options{
			URL: u, LocalIP: net.IPv4(127, 0, 0, byte(1+i%o.SourceIPs)), ReadyType: o.ReadyEvent,
			MaxRetry: o.MaxRetry, Reconnect: !o.NoReconnect,
		}}
	}
	deadline := time.NewTimer(o.ConnectTimeout)
	defer deadline.Stop()
	launched, readyN, failedN := 0, 0, 0
	for readyN+failedN < o.Subscribers {
		var slot chan struct{}
		if launched < o.Subscribers {
			slot = slots
		}
		select {
		case slot <- struct{}{}:
			s := r.subs[launched]
			launched++
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Run(ctx, r.sh, ready)
				if !s.IsReady && ctx.Err() == nil {
					failed <- s.ID
				}
			}()
		case <-ready:
			readyN++
			<-slots
		case <-failed:
			failedN++
			<-slots
		case <-deadline.C:
			failedN = o.Subscribers - readyN
			r.res.ConnectFails = failedN
			return fmt.Errorf("connect: only %d of %d subscribers ready after %v (dial errors %d, bad status %d)",
				readyN, o.Subscribers, o.ConnectTimeout, r.sh.DialErrors.Load(), r.sh.BadStatus.Load())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.res.Connected, r.res.ConnectFails = readyN, failedN
	r.res.ConnectWall = time.Since(start).Seconds()
	var h hist.Histogram
	for _, s := range r.subs {
		if s.IsReady {
			h.Record(uint64(s.ConnectTime.Microseconds()))
		}
	}
	r.res.ConnectTime = summarise(&h)
	if failedN > 0 {
		var sample string
		for _, s := range r.subs {
			if !s.IsReady && s.LastErr != "" {
				sample = s.LastErr
				break
			}
		}
		return fmt.Errorf("connect: %d of %d subscribers failed (dial errors %d, bad status %d; e.g. %s)",
			failedN, o.Subscribers, r.sh.DialErrors.Load(), r.sh.BadStatus.Load(), sample)
	}
	return nil
}

// idle holds the connections, then reads server memory.
func (r *run) idle(ctx context.Context, tick *ticker) error {
	wait(ctx, r.o.Settle)
	after := r.servers.sample()
	r.res.MetricsAfter = scrape(ctx, r.o.MetricsURLs)
	r.res.Servers = r.servers.report(after, nil)
	var before, now uint64
	r.res.IdlePerConnByName = map[string]float64{}
	for _, s := range r.res.Servers {
		before += s.RSSBefore
		now += s.RSSAfter
		r.res.IdlePerConnByName[s.Name] += (float64(s.RSSAfter) - float64(s.RSSBefore)) / float64(r.res.Connected)
	}
	r.res.IdleBytesPerConn = (float64(now) - float64(before)) / float64(r.res.Connected)
	wait(ctx, r.o.Duration)
	tick.stop()
	r.res.Servers = r.servers.report(r.servers.sample(), nil)
	// Keep the settle reading as the per-connection figure: it is taken
	// before heartbeats add buffers of their own.
	return nil
}

func wait(ctx context.Context, d time.Duration) {
	schedule.Real{}.Sleep(ctx, d)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
