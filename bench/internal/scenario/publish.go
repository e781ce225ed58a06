package scenario

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-push/herald/bench/internal/client"
	"github.com/herald-push/herald/bench/internal/payload"
	"github.com/herald-push/herald/bench/internal/schedule"
	"github.com/herald-push/herald/bench/internal/target"
)

// pubState is the publisher side of a run.
type pubState struct {
	plan     schedule.Plan
	fired    atomic.Int64
	done     atomic.Int64
	errs     atomic.Int64
	firstErr atomic.Value // string
	lat      *client.Recorder
	killTime time.Time
	killSeq  int64
	finished time.Time // every request answered
}

type job struct {
	i   int
	due time.Time
}

// publish runs the open-loop schedule: the timetable fires, workers post.
func (r *run) publish(ctx context.Context, tick *ticker) *pubState {
	o := r.o
	count := max(int(o.Rate*o.Duration.Seconds()), 1)
	ps := &pubState{lat: client.NewRecorder(o.PublishWorkers), killSeq: -1}
	tick.pub.Store(ps)
	pub := target.NewPublisher(o.Target, o.PublishWorkers)
	defer pub.Close()
	jobs := make(chan job, count) // never blocks the timetable: the loop stays open
	var wg sync.WaitGroup
	for w := range o.PublishWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for j := range jobs {
				ch := j.i % o.Channels
				buf = payload.Append(buf[:0], payload.P{Channel: int64(ch), Seq: int64(j.i / o.Channels), Intended: j.due.UnixNano()})
				if _, err := pub.Publish(ctx, ChannelName(o.Prefix, ch), buf); err != nil {
					if ps.errs.Add(1) == 1 {
						ps.firstErr.Store(err.Error())
					}
				}
				ps.lat.Record(w, uint64(time.Since(j.due).Microseconds()))
				ps.done.Add(1)
			}
		}()
	}
	killIndex := -1
	if o.Scenario == Resume {
		killIndex = min(int(o.Rate*o.KillAt.Seconds()), count-1)
	}
	// Start a little in the future so event 0 is not already late.
	ps.plan = schedule.Plan{Start: time.Now().Add(50 * time.Millisecond), Rate: o.Rate, Count: count}
	tick.markPublish(ps.plan.Start)
	if o.OnPublish != nil {
		go o.OnPublish(ctx, o.Duration)
	}
	schedule.Run(ctx, schedule.Real{}, ps.plan, func(i int, due time.Time) {
		if i == killIndex {
			ps.killTime = time.Now()
			if err := o.Kill(); err != nil {
				ps.firstErr.Store("killing server: " + err.Error())
				ps.errs.Add(1)
			}
			ps.killSeq = int64(i)
			r.sh.CatchSeq.Store(int64(i))
		}
		ps.fired.Add(1)
		jobs <- job{i, due}
	})
	close(jobs)
	wg.Wait()
	ps.finished = time.Now()
	return ps
}

// publishedPerChannel returns how many sequences each channel was given.
func (ps *pubState) publishedPerChannel(channels int) []uint64 {
	n := uint64(ps.fired.Load())
	out := make([]uint64, channels)
	for c := range out {
		if uint64(c) < n {
			out[c] = (n - uint64(c) + uint64(channels) - 1) / uint64(channels)
		}
	}
	return out
}
