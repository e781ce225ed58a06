package main

import (
	"context"
	"fmt"
	"io"

	"github.com/herald-push/herald/bench/internal/scenario"
	"github.com/herald-push/herald/bench/internal/stack"
)

// launch starts Herald and points the options at it.
func launch(ctx context.Context, c *config, o *scenario.Options, stderr io.Writer) (*stack.Stack, error) {
	fmt.Fprintf(stderr, "herald-bench: starting the stack (%s, building the services)...\n", c.via)
	st, err := stack.Start(ctx, stack.Options{Via: c.via, Replicas: c.replicas})
	if err != nil {
		return nil, err
	}
	o.Target.SSEURL, o.Target.PublishURL = st.SSEURL, st.PublishURL
	if len(c.serverPIDs) == 0 {
		c.serverPIDs = st.PIDs
	}
	o.ServerPIDs = c.serverPIDs
	o.RefreshPIDs = st.CurrentPIDs
	o.Kill = st.Kill
	if len(o.MetricsURLs) == 0 {
		o.MetricsURLs = st.MetricsURLs
	}
	if o.Label == "" {
		o.Label = st.Label
	}
	fmt.Fprintf(stderr, "herald-bench: stack up: sse %s, publish %s, measuring pids %v\n", st.SSEURL, st.PublishURL, o.ServerPIDs)
	return st, nil
}
