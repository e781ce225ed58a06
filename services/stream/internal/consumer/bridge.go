package consumer

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/stream/internal/frame"
	"github.com/nats-io/nats.go/jetstream"
)

// bridgeGet bounds one direct get: a frozen replica gets no more than this
// before the next request goes (the queue group picks again).
const (
	bridgeGet  = 500 * time.Millisecond
	bridgeIdle = 50 * time.Millisecond
)

// bridge keeps events flowing while a failed consumer is recreated. Creating
// one needs the JetStream meta leader (and looking the stream up, its
// leader): when the dead node was one of them, that waits out an election of
// several seconds. Direct gets need neither — any replica of the stream
// answers them (AllowDirect) — so the bridge reads the next sequence after the
// hub's, one event at a time, until stop is called. Only one of the bridge and
// the consumer feeds the hub at any time.
type bridge struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	n      atomic.Int64 // events handed to the hub
}

// startBridge starts bridging from st (nil: nothing to bridge with yet).
func (c *Consumer) startBridge(ctx context.Context, st jetstream.Stream) *bridge {
	ctx, cancel := context.WithCancel(ctx)
	br := &bridge{cancel: cancel}
	if st == nil {
		return br
	}
	br.wg.Go(func() {
		var b frame.Builder
		for ctx.Err() == nil {
			seq := c.hub.LastSeq() + 1
			gctx, cancel := context.WithTimeout(ctx, bridgeGet)
			m, err := st.GetMsg(gctx, seq, jetstream.WithGetMsgSubject(channel.StreamSubjects))
			cancel()
			if err != nil {
				// not stored yet (caught up), or no replica answered
				select {
				case <-ctx.Done():
				case <-time.After(bridgeIdle):
				}
				continue
			}
			ev, err := b.Event(m.Sequence, m.Subject, m.Data)
			if err != nil {
				return // the consumer will skip and log it
			}
			c.firstSeq.CompareAndSwap(0, m.Sequence)
			c.hub.Publish(ev)
			c.m.ConsumerSeq.Set(float64(m.Sequence))
			br.n.Add(1)
		}
	})
	return br
}

// stop ends the bridge and returns how many events it delivered; the hub's
// LastSeq is final when it returns.
func (br *bridge) stop() int64 {
	br.cancel()
	br.wg.Wait()
	return br.n.Swap(0) // stop may be called again: count once
}
