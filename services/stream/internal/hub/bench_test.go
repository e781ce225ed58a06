package hub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchFrame is a typical encoded event (~170 bytes).
var benchFrame = []byte("id: 1042\nevent: update\ndata: {\"channel\":\"room.1\",\"type\":\"update\",\"data\":{\"title\":\"Herald ships\",\"n\":1},\"time\":\"2026-11-26T10:00:00.123Z\"}\n\n")

// drainEvery is how many events a benchmark publishes before it empties the
// queues (with the timer stopped); queues are one larger, so nobody is slow.
const drainEvery = 63

// BenchmarkFanout10k measures fan-out of one event to 10,000 subscribers of
// the same channel.
//
//   - publish: the cost of Hub.Publish alone, which is what the single NATS
//     consumer goroutine pays per event (index lookup, 10,000 non-blocking
//     queue sends, ring append, metrics). Queues are emptied every
//     drainEvery events with the timer stopped, so every send really enqueues
//     and nobody is dropped.
//   - serve: end to end on this machine: Publish plus the 10,000 Serve
//     goroutines waking up, writing the frame to an io.Writer (a counter, no
//     syscall) and resetting their heartbeat timers. Each op waits until all
//     10,000 writes happened, so ns/op is the latency from Publish until the
//     last subscriber has written the event; allocs/op counts the whole
//     process, writers included.
func BenchmarkFanout10k(b *testing.B) {
	const n = 10_000
	b.Run("publish", func(b *testing.B) {
		h := New(Options{QueueSize: drainEvery + 1, RingSize: 1024})
		subs := make([]*Subscriber, n)
		for i := range subs {
			subs[i], _ = h.Subscribe([]string{"room.1"})
		}
		benchPublish(b, h, subs, func(int) string { return "room.1" })
		if h.Count() != n {
			b.Fatalf("%d subscribers left, want %d: some were dropped", h.Count(), n)
		}
	})
	b.Run("serve", func(b *testing.B) {
		h := New(Options{QueueSize: 64, RingSize: 1024})
		var written atomic.Int64
		var target atomic.Int64
		all := make(chan struct{}, 1)
		w := writerFunc(func(p []byte) (int, error) {
			if written.Add(1) == target.Load() {
				all <- struct{}{}
			}
			return len(p), nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range n {
			s, _ := h.Subscribe([]string{"room.1"})
			// Each connection has its own context, as each HTTP request does.
			sctx, scancel := context.WithCancel(ctx)
			wg.Go(func() { defer scancel(); _ = s.Serve(sctx, w, nil, 15*time.Second, 0) })
		}
		// One event outside the timer, so goroutine start-up (stacks, first
		// park) is not billed to the first iterations.
		target.Store(n)
		h.Publish(&Event{Seq: 1, Channel: "room.1", Frame: benchFrame})
		<-all
		ev := &Event{Channel: "room.1", Frame: benchFrame}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuTime()
		for i := range b.N {
			target.Store(int64(i+2) * n)
			ev.Seq = uint64(i + 2) // reused: the ring holds it, but nobody reads the ring here
			h.Publish(ev)
			<-all
		}
		b.StopTimer()
		reportCPU(b, cpu)
		cancel()
		wg.Wait()
		if h.Count() != n {
			b.Fatalf("%d subscribers left, want %d", h.Count(), n)
		}
	})
}

// BenchmarkFanoutMixed measures Publish with 10,000 subscribers spread over
// 1,000 channels plus wildcards, the shape of a real deployment: 8,000
// subscribers on 4 exact channels each, 1,000 on "room.*", 500 on "room.>"
// and 500 on 500 distinct "*.<n>" patterns (so each event also scans 502
// wildcard groups). Each event goes to one channel and reaches about 1,530
// subscribers. Queues are drained as in BenchmarkFanout10k/publish.
func BenchmarkFanoutMixed(b *testing.B) {
	const channels = 1000
	h := New(Options{QueueSize: drainEvery + 1, RingSize: 1024})
	r := rand.New(rand.NewPCG(1, 2))
	var subs []*Subscriber
	add := func(ps ...string) {
		s, _ := h.Subscribe(ps)
		subs = append(subs, s)
	}
	room := func(i int) string { return fmt.Sprintf("room.%d", i) }
	for range 8000 {
		add(room(r.IntN(channels)), room(r.IntN(channels)), room(r.IntN(channels)), room(r.IntN(channels)))
	}
	for range 1000 {
		add("room.*")
	}
	for range 500 {
		add("room.>")
	}
	for i := range 500 {
		add(fmt.Sprintf("*.%d", i))
	}
	names := make([]string, channels)
	for i := range names {
		names[i] = room(i)
	}
	benchPublish(b, h, subs, func(i int) string { return names[i%channels] })
	if h.Count() != len(subs) {
		b.Fatalf("%d subscribers left, want %d: some were dropped", h.Count(), len(subs))
	}
}

// benchPublish times b.N Publish calls, emptying every queue outside the
// timer before it can fill up.
func benchPublish(b *testing.B, h *Hub, subs []*Subscriber, channelOf func(int) string) {
	events := make([]Event, drainEvery)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		if i%drainEvery == 0 && i > 0 {
			b.StopTimer()
			for _, s := range subs {
				drain(s)
			}
			b.StartTimer()
		}
		// Events are preallocated so the loop measures the hub, not the caller.
		ev := &events[i%drainEvery]
		*ev = Event{Seq: uint64(i + 1), Channel: channelOf(i), Frame: benchFrame}
		h.Publish(ev)
	}
	b.StopTimer()
	reportCPU(b, cpu) // includes the (untimed) draining: an upper bound
}

// cpuTime is the CPU time (user + system) the process has used. The machine
// is shared, so wall-clock ns/op moves with other load; cpu-ns/op is what the
// hub itself costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime()-since)/float64(b.N), "cpu-ns/op")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
