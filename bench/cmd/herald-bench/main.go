// Command herald-bench is Herald's load generator: it holds thousands of SSE
// subscribers on loopback, publishes on an open-loop schedule, and reports
// latency percentiles, delivered events/s, loss, duplicates and the server's
// memory and CPU — for Herald (optionally starting the stack itself with
// --launch) or any SSE server described by URL templates.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/herald-push/herald/bench/internal/report"
	"github.com/herald-push/herald/bench/internal/scenario"
	"github.com/herald-push/herald/bench/internal/target"
	"github.com/herald-push/herald/e2e/launcher"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "herald-bench:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	base        scenario.Options
	subscribers []int
	rates       []float64
	killPID     int
	serverPIDs  []int
	out         string
	launch      bool
	via         string
	replicas    int
	timeout     time.Duration
	perf        bool
	quietCores  float64
	procs       int
	quietWait   time.Duration
}

func parse(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("herald-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	o := &c.base
	fs.StringVar(&o.Scenario, "scenario", "fanout", "fanout | channels | idle | resume")
	subs := fs.String("subscribers", "1000", "subscriber counts, comma-separated: one run each")
	rates := fs.String("rate", "1", "publish rates in events/s (total over all channels), comma-separated: one run each")
	fs.IntVar(&o.Channels, "channels", 10, "channels scenario: number of channels")
	fs.BoolVar(&o.Wildcard, "wildcard", false, "channels scenario: every subscriber subscribes to <prefix>.* (all channels)")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "publishing time (idle: holding time)")
	fs.DurationVar(&o.Drain, "drain", 60*time.Second, "max wait for events still in flight after the last publish")
	fs.DurationVar(&o.DrainIdle, "drain-idle", 3*time.Second, "stop draining once no event at all arrived for this long")
	fs.BoolVar(&o.NoReconnect, "no-reconnect", false, "a dropped subscriber stays down (default: it reconnects with Last-Event-ID, like a browser)")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 90*time.Second, "max time to get every subscriber ready")
	fs.IntVar(&o.DialConcurrency, "dial-concurrency", 200, "subscribers connecting at the same time")
	fs.IntVar(&o.SourceIPs, "source-ips", 16, "spread subscribers over 127.0.0.1..127.0.0.N so ephemeral ports never run out")
	fs.StringVar(&o.ReadyEvent, "ready-event", "herald.connected", "event type that means a subscription is live (empty: response headers)")
	fs.DurationVar(&o.MaxRetry, "max-retry", 5*time.Second, "cap on the server's retry: before a subscriber reconnects")
	fs.IntVar(&o.PublishWorkers, "publish-workers", 16, "concurrent publish requests")
	fs.DurationVar(&o.Settle, "settle", 5*time.Second, "idle: wait after connecting before reading server memory")
	fs.DurationVar(&o.KillAt, "kill-at", 0, "resume: when to kill the stream process, after publishing starts (default duration/3)")
	fs.IntVar(&c.killPID, "kill-pid", 0, "resume without --launch: the stream process to SIGKILL")
	metrics := fs.String("metrics-url", "", "Prometheus /metrics URLs of the servers, comma-separated (optional; --launch fills it)")
	pids := fs.String("server-pids", "", "server processes to measure, comma-separated (default: whoever listens on the --sse-url port)")
	fs.StringVar(&o.Target.SSEURL, "sse-url", "http://127.0.0.1:8080/stream?channel={channel}", "subscribe URL template (loopback only)")
	fs.StringVar(&o.Target.PublishURL, "publish-url", "http://127.0.0.1:8080/api/v1/channels/{channel}/events", "publish URL template (loopback only)")
	fs.StringVar(&o.Target.PublishBody, "publish-body", `{"data":{payload}}`, "publish body template; {payload} is a JSON object, {channel} the channel")
	fs.StringVar(&o.Target.ContentType, "content-type", "application/json", "publish Content-Type")
	fs.Func("publish-header", `extra publish request header "Name: value" (repeatable), e.g. a peer's API key`, func(v string) error {
		if _, _, err := target.SplitHeader(v); err != nil {
			return err
		}
		o.Target.PublishHeaders = append(o.Target.PublishHeaders, v)
		return nil
	})
	fs.StringVar(&o.Label, "label", "", "name of the target in the report (default: direct or nginx with --launch, else target)")
	fs.StringVar(&c.out, "out", "", "directory for results.json, results.md and charts (default bench/results/<time> in the repository)")
	fs.BoolVar(&c.launch, "launch", false, "start Herald's stack (embedded NATS, api, stream, nginx) with the e2e launcher")
	fs.StringVar(&c.via, "via", "nginx", "with --launch: nginx (the front door, to the replicas over TCP), nginx-unix (the same over Unix sockets) or direct (stream replica 0)")
	fs.IntVar(&c.replicas, "replicas", 0, "with --launch: stream replicas (default 1 direct, 2 via nginx)")
	fs.BoolVar(&c.perf, "perf", false, "profile the first server pid with Linux perf while publishing (reports in --out)")
	fs.IntVar(&c.procs, "procs", 0, "GOMAXPROCS of the bench itself (0: Go's default); set here, not in the environment, which the launched services inherit")
	fs.Float64Var(&c.quietCores, "quiet-cores", 0, "before each run, wait until the rest of the machine uses less than this many cores (0: don't wait)")
	fs.DurationVar(&c.quietWait, "quiet-wait", 10*time.Minute, "longest wait for --quiet-cores; the run then goes ahead and its note shows the load")
	fs.DurationVar(&c.timeout, "timeout", 0, "hard bound on the whole invocation (default: sum of the runs' bounds + 2m)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if c.subscribers, err = ints(*subs); err != nil {
		return nil, fmt.Errorf("--subscribers: %w", err)
	}
	if c.rates, err = floats(*rates); err != nil {
		return nil, fmt.Errorf("--rate: %w", err)
	}
	if c.serverPIDs, err = ints(*pids); err != nil {
		return nil, fmt.Errorf("--server-pids: %w", err)
	}
	for m := range strings.SplitSeq(*metrics, ",") {
		if m = strings.TrimSpace(m); m != "" {
			if err := target.CheckLoopback(m); err != nil {
				return nil, err
			}
			o.MetricsURLs = append(o.MetricsURLs, m)
		}
	}
	if c.via != "nginx" && c.via != "nginx-unix" && c.via != "direct" {
		return nil, errors.New("--via must be nginx, nginx-unix or direct")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "report" {
		return merge(args[1:], stdout, stderr)
	}
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if c.procs > 0 {
		runtime.GOMAXPROCS(c.procs)
	}
	o := c.base
	o.Progress = stderr
	runs := len(c.subscribers) * len(c.rates)
	if c.timeout == 0 {
		o.Subscribers, o.Rate = c.subscribers[0], c.rates[0]
		c.timeout = time.Duration(runs)*(o.Timeout()+5*time.Second+c.quietWait) + 2*time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// A watchdog for anything that ignores ctx: the run is bounded, full stop.
	wd := time.AfterFunc(c.timeout+15*time.Second, func() {
		fmt.Fprintln(stderr, "herald-bench: hard timeout, exiting")
		os.Exit(3)
	})
	defer wd.Stop()

	if c.launch {
		st, err := launch(ctx, c, &o, stderr)
		if err != nil {
			return err
		}
		defer st.Close()
	} else {
		if err := o.Target.Validate(); err != nil {
			return err
		}
		if len(c.serverPIDs) == 0 {
			c.serverPIDs = discover(o.Target.SSEURL, stderr)
		}
		o.ServerPIDs = c.serverPIDs
		if c.killPID > 0 {
			pid := c.killPID
			o.Kill = func() error { return syscall.Kill(pid, syscall.SIGKILL) }
		}
		if o.Label == "" {
			o.Label = "target"
		}
	}
	if o.Scenario == scenario.Resume && o.KillAt == 0 {
		o.KillAt = o.Duration / 3
	}
	if c.out == "" {
		// Inside the repository, bench/results/ (git-ignored); elsewhere ./bench-results.
		dir := "bench-results"
		if root, err := launcher.RepoRoot(); err == nil {
			dir = filepath.Join(root, "bench", "results")
		}
		c.out = filepath.Join(dir, time.Now().UTC().Format("20060102-150405"))
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", c.out, err)
	}
	if c.perf && len(o.ServerPIDs) > 0 {
		p := &perfProfiler{pid: o.ServerPIDs[0], dir: c.out, stderr: stderr}
		o.OnPublish = p.hook
		defer p.wg.Wait()
	}
	stamp := strconv.FormatInt(time.Now().Unix(), 36)
	var results []*scenario.Result
	var firstErr error
	k := 0
	for _, n := range c.subscribers {
		for _, rate := range c.rates {
			ro := o
			ro.Subscribers, ro.Rate = n, rate
			ro.Prefix = fmt.Sprintf("bench.%s-%d", stamp, k)
			k++
			if c.quietCores > 0 {
				waitQuiet(ctx, c.quietCores, c.quietWait, stderr)
			}
			res, err := scenario.Run(ctx, ro)
			if res != nil {
				results = append(results, res)
			}
			if err != nil {
				fmt.Fprintf(stderr, "run n=%d rate=%g: %v\n", n, rate, err)
				firstErr = cmpErr(firstErr, err)
				if res == nil || ctx.Err() != nil {
					break
				}
			}
		}
	}
	if len(results) > 0 {
		if err := report.WriteAll(c.out, results); err != nil {
			return fmt.Errorf("writing results: %w", err)
		}
		if err := report.Markdown(stdout, results); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nresults: %s\n", c.out)
	}
	for _, r := range results {
		if r.Lost > 0 || r.Duplicates > 0 || r.IDDuplicates > 0 {
			firstErr = cmpErr(firstErr, fmt.Errorf("n=%d rate=%g: lost %d, duplicates %d, id duplicates %d",
				r.Options.Subscribers, r.Options.Rate, r.Lost, r.Duplicates, r.IDDuplicates))
		}
	}
	return firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
