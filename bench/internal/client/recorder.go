// Package client is the bench's SSE subscriber: one goroutine, one small
// buffer and one raw TCP connection per subscriber (no net/http transport
// goroutines), bound to a chosen 127.0.0.x source address, that reconnects
// with Last-Event-ID like a browser and accounts for every event it gets.
package client

import (
	"sync"

	"github.com/herald-push/herald/bench/internal/hist"
)

// Recorder is a histogram sharded so ten thousand subscriber goroutines can
// record without contending on one lock.
type Recorder struct {
	shards []recShard
}

type recShard struct {
	mu sync.Mutex
	h  hist.Histogram
	_  [64]byte // keep neighbouring locks off one cache line
}

// NewRecorder returns a recorder with n shards.
func NewRecorder(n int) *Recorder { return &Recorder{shards: make([]recShard, max(n, 1))} }

// Record adds v to shard key%n.
func (r *Recorder) Record(key int, v uint64) {
	s := &r.shards[key%len(r.shards)]
	s.mu.Lock()
	s.h.Record(v)
	s.mu.Unlock()
}

// Snapshot merges every shard into a new histogram.
func (r *Recorder) Snapshot() *hist.Histogram {
	var out hist.Histogram
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		out.Merge(&s.h)
		s.mu.Unlock()
	}
	return &out
}
