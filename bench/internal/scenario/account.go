package scenario

import (
	"context"
	"time"

	"github.com/herald-push/herald/bench/internal/hist"
	"github.com/herald-push/herald/bench/internal/ledger"
)

// expected is how many events all subscribers together should receive.
func (r *run) expected(ps *pubState) uint64 {
	published := ps.publishedPerChannel(r.o.Channels)
	var n uint64
	for _, s := range r.subs {
		for i := range s.Ledger.Channels {
			n += published[s.Ledger.Base+i]
		}
	}
	return n
}

// drain waits until every expected event has arrived, or nothing has
// arrived for DrainIdle (the rest is not coming: lost), or Drain passes (a
// server still delivering then is reported late, and what is missing lost).
func (r *run) drain(ctx context.Context, ps *pubState) {
	want := int64(r.expected(ps))
	start := time.Now()
	deadline := start.Add(r.o.Drain)
	last, lastAt := r.sh.Received.Load(), start
	for ctx.Err() == nil && time.Now().Before(deadline) {
		got := r.sh.Received.Load()
		done := got >= want
		if r.o.Scenario == Resume {
			// Stragglers still reconnecting must get their chance too.
			done = done && r.sh.CaughtUp.Load() >= int64(len(r.subs))
		}
		if done {
			break
		}
		if got != last {
			last, lastAt = got, time.Now()
		} else if time.Since(lastAt) > r.o.DrainIdle {
			break
		}
		wait(ctx, 20*time.Millisecond)
	}
	r.res.DrainWait = time.Since(start).Seconds()
	r.res.DrainTimedOut = !time.Now().Before(deadline)
}

// account totals the ledgers once every subscriber has stopped.
func (r *run) account(ps *pubState) {
	res := r.res
	published := ps.publishedPerChannel(r.o.Channels)
	var tot ledger.Totals
	for _, s := range r.subs {
		tot.Add(s.Ledger, published)
	}
	res.Published = ps.fired.Load()
	res.PublishErrors = ps.errs.Load()
	if e, ok := ps.firstErr.Load().(string); ok && res.Error == "" {
		res.Error = "first publish error: " + e
	}
	res.PublishLatency = summarise(ps.lat.Snapshot())
	res.PublishWall = ps.finished.Sub(ps.plan.Start).Seconds()
	res.Expected, res.Delivered = tot.Expected, tot.Received
	res.Lost, res.Duplicates, res.IDDuplicates, res.LostByID = tot.Lost, tot.Dups, tot.IDDups, tot.LostByID
	res.NoID, res.Foreign = tot.NoID, tot.Foreign
	res.Disconnects, res.Reconnects = r.sh.Disconnects.Load(), r.sh.Reconnects.Load()
	res.Latency = summarise(r.sh.Latency.Snapshot())
	// The delivery window runs from the first intended send to the end of the
	// drain: a server that falls behind stretches it and lowers the rate.
	if window := ps.finished.Sub(ps.plan.Start).Seconds() + res.DrainWait; window > 0 {
		res.DeliveredPS = float64(res.Delivered) / window
	}
	for _, t := range res.Ticks {
		res.PeakPS = max(res.PeakPS, t.Delivered)
	}
	if ps.killSeq >= 0 {
		rr := &ResumeResult{KillSeq: ps.killSeq}
		var all, dropped hist.Histogram
		for _, s := range r.subs {
			wasDropped := !s.FirstDrop.IsZero()
			if wasDropped {
				rr.Dropped++
			}
			if s.CaughtUpAt.IsZero() {
				rr.NotCaughtUp++
				continue
			}
			rr.CaughtUp++
			d := uint64(max(s.CaughtUpAt.Sub(ps.killTime), 0).Microseconds())
			all.Record(d)
			if wasDropped {
				dropped.Record(d)
			}
		}
		rr.CatchUp, rr.CatchUpDropped = summarise(&all), summarise(&dropped)
		res.Resume = rr
	}
}
