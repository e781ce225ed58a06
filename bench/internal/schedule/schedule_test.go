package schedule

import (
	"context"
	"testing"
	"time"
)

// fake is a clock that only moves when someone sleeps or work is simulated.
type fake struct {
	now    time.Time
	sleeps []time.Duration
	cancel func() // called when the clock passes cancelAt
	at     time.Time
}

func (f *fake) Now() time.Time { return f.now }
func (f *fake) Sleep(_ context.Context, d time.Duration) {
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	if f.cancel != nil && !f.now.Before(f.at) {
		f.cancel()
	}
}

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

type fired struct {
	i       int
	due, at time.Duration // offsets from t0
}

func TestRunOpenLoop(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		count int
		// work simulates how long fire(i) takes (e.g. a stall on event 1).
		work  map[int]time.Duration
		want  []fired
		nslps int
	}{
		{
			name: "on time", rate: 10, count: 3,
			want: []fired{{0, 0, 0}, {1, 100 * time.Millisecond, 100 * time.Millisecond}, {2, 200 * time.Millisecond, 200 * time.Millisecond}},
			// Event 0 is due now: no sleep before it.
			nslps: 2,
		},
		{
			name: "stall keeps intended times and catches up without sleeping", rate: 10, count: 5,
			work: map[int]time.Duration{1: 350 * time.Millisecond},
			want: []fired{
				{0, 0, 0},
				{1, 100 * time.Millisecond, 100 * time.Millisecond},
				// Fire 1 ended at 450 ms: 2, 3 and 4 are late and go at once,
				// but their due times stay on the timetable.
				{2, 200 * time.Millisecond, 450 * time.Millisecond},
				{3, 300 * time.Millisecond, 450 * time.Millisecond},
				{4, 400 * time.Millisecond, 450 * time.Millisecond},
			},
			nslps: 1,
		},
		{
			name: "fractional rate", rate: 3, count: 3,
			want:  []fired{{0, 0, 0}, {1, 333333333, 333333333}, {2, 666666666, 666666666}},
			nslps: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fake{now: t0}
			var got []fired
			n := Run(context.Background(), clk, Plan{Start: t0, Rate: tt.rate, Count: tt.count}, func(i int, due time.Time) {
				got = append(got, fired{i, due.Sub(t0), clk.now.Sub(t0)})
				clk.now = clk.now.Add(tt.work[i])
			})
			if n != tt.count {
				t.Fatalf("fired %d, want %d", n, tt.count)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			if len(clk.sleeps) != tt.nslps {
				t.Errorf("slept %d times (%v), want %d", len(clk.sleeps), clk.sleeps, tt.nslps)
			}
		})
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &fake{now: t0, cancel: cancel, at: t0.Add(250 * time.Millisecond)}
	n := Run(ctx, clk, Plan{Start: t0, Rate: 10, Count: 100}, func(int, time.Time) {})
	if n != 3 {
		t.Fatalf("fired %d events before cancellation, want 3 (0, 100, 200 ms)", n)
	}
}
