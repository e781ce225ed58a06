// Package schedule is the publisher's open-loop timetable: event i is due at
// start + i/rate whatever happened to event i-1, so a server stall shows up
// as latency (measured from the intended time) instead of silently slowing
// the publisher down — the coordinated-omission trap.
package schedule

import (
	"context"
	"time"
)

// Clock is the time source; tests pass a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration)
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits with a timer that stops early when ctx is cancelled.
func (Real) Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Plan is a fixed-rate timetable of Count events from Start.
type Plan struct {
	Start time.Time
	Rate  float64 // events per second, > 0
	Count int
}

// Due returns the intended send time of event i.
func (p Plan) Due(i int) time.Time {
	return p.Start.Add(time.Duration(float64(i) * float64(time.Second) / p.Rate))
}

// Run calls fire(i, due) for every event in order, at or after its due time.
// When behind (fire or the machine stalled) it fires at once and keeps each
// event's original due time. fire must not block for long: hand the work to
// other goroutines. Run returns how many events were fired (fewer only if ctx
// ended first).
func Run(ctx context.Context, clk Clock, p Plan, fire func(i int, due time.Time)) int {
	for i := range p.Count {
		due := p.Due(i)
		if d := due.Sub(clk.Now()); d > 0 {
			clk.Sleep(ctx, d)
		}
		if ctx.Err() != nil {
			return i
		}
		fire(i, due)
	}
	return p.Count
}
