package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// perfProfiler samples a server with Linux perf over each publishing window:
// the stream service has no /debug/pprof, and perf needs nothing from it.
// Go binaries keep frame pointers, so call graphs are reliable.
type perfProfiler struct {
	pid    int
	dir    string
	n      atomic.Int64
	stderr io.Writer
	wg     sync.WaitGroup // main waits, so reports are written before exit
}

func (p *perfProfiler) hook(ctx context.Context, d time.Duration) {
	p.wg.Add(1)
	defer p.wg.Done()
	k := p.n.Add(1)
	data := filepath.Join(p.dir, fmt.Sprintf("perf-%d.data", k))
	// A little shorter than the publishing window, which ends the run (and ctx).
	secs := strconv.FormatFloat(max(d.Seconds()*0.9, 1), 'f', 1, 64)
	cmd := exec.CommandContext(ctx, "perf", "record", "-e", "cpu-clock", "-F", "499", "-g", "-p", strconv.Itoa(p.pid), "-o", data, "--", "sleep", secs)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(p.stderr, "herald-bench: perf record: %v: %s\n", err, out)
		return
	}
	for _, v := range []struct{ suffix, mode string }{{"flat", "--no-children"}, {"cumulative", "--children"}} {
		// Not ctx: the run may be over by now, and the report is still wanted.
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := exec.CommandContext(rctx, "perf", "report", "-i", data, "--stdio", v.mode, "-g", "none",
			"--sort", "sym", "--percent-limit", "0.5").Output()
		cancel()
		if err != nil {
			fmt.Fprintf(p.stderr, "herald-bench: perf report: %v\n", err)
			return
		}
		path := filepath.Join(p.dir, fmt.Sprintf("perf-%d-%s.txt", k, v.suffix))
		if err := os.WriteFile(path, out, 0o644); err != nil {
			fmt.Fprintf(p.stderr, "herald-bench: %v\n", err)
		}
	}
	fmt.Fprintf(p.stderr, "herald-bench: profile of pid %d written to %s/perf-%d-*.txt\n", p.pid, p.dir, k)
}
