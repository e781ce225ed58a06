package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herald-push/herald/bench/internal/procstat"
)

// discover finds the processes listening on the SSE URL's port.
func discover(sseURL string, stderr io.Writer) []int {
	u, err := url.Parse(strings.ReplaceAll(sseURL, "{channel}", "x"))
	if err != nil {
		return nil
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 80
	}
	pids, err := procstat.ListenerPIDs(port)
	if err != nil {
		fmt.Fprintf(stderr, "herald-bench: not measuring the server (%v); pass --server-pids\n", err)
		return nil
	}
	return pids
}

// waitQuiet polls the machine's CPU use in 3 s windows until it is below
// cores or max has passed. Nothing of the bench runs meanwhile, and an idle
// stack uses next to nothing, so this is the other engineers' load.
func waitQuiet(ctx context.Context, cores float64, limit time.Duration, stderr io.Writer) {
	deadline := time.Now().Add(limit)
	for {
		a, err := procstat.ReadMachine()
		if err != nil {
			return
		}
		t := time.NewTimer(3 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		b, err := procstat.ReadMachine()
		if err != nil {
			return
		}
		busy := (b.Busy - a.Busy) / 3
		if busy < cores {
			fmt.Fprintf(stderr, "herald-bench: machine quiet enough (%.2f cores busy)\n", busy)
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "herald-bench: still %.2f cores busy after %v; running anyway\n", busy, limit)
			return
		}
		fmt.Fprintf(stderr, "herald-bench: waiting for a quieter machine (%.2f cores busy, want < %.2f)\n", busy, cores)
	}
}
