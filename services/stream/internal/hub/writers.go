package hub

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The writer pool: a connection whose stream is live (opened and replayed)
// is attached to one of a few writer goroutines, one per core, instead of
// keeping a goroutine of its own. Publish queues the shared frame for each
// matching subscriber and hands the ones that had nothing queued to their
// writer; each writer then sends what is queued with one non-blocking
// write(2) per connection, so one event to 10,000 subscribers is written by
// every core at once and wakes no goroutine per connection. An idle
// connection costs its socket, its Subscriber and a few pointers: no stack,
// no timer, no buffer.
//
// A write the socket cannot take at once (the client reads slower than it
// is sent to) is finished by a goroutine of its own, blocking under
// sse.write_timeout, while the writer goes on with the others; frames keep
// queueing behind it under the usual bounds (sse.queue_size, queue_bytes),
// over which the client is dropped as slow.

// ErrNotAttachable is Attach's answer for a connection the pool cannot
// write to without blocking (one that is not a socket).
var ErrNotAttachable = errors.New("hub: connection has no file descriptor to write to")

// Outlet is a connection for the writer pool.
type Outlet struct {
	Conn net.Conn // a socket (syscall.Conn); the pool closes it when the stream ends
	// Skip: queued events with 0 < Seq <= Skip were sent by a replay already.
	// (The heartbeat and the bound of a write that would block are the hub's
	// Options: the same for every stream.)
	Skip uint64
	// OnEnd is called once, from a pool goroutine, just before Conn is closed: cause
	// is End's (ErrSlow when the hub dropped the subscriber), err the write
	// error that ended the stream, if any.
	OnEnd func(cause, err error)
}

// outlet is an attached subscriber's connection.
type outlet struct {
	Outlet
	raw   syscall.RawConn
	sub   *Subscriber
	shard *shard
	idx   int          // position in shard.all; guarded by shard.mu
	last  atomic.Int64 // when the last write finished (UnixNano), for heartbeats

	// Guarded by the subscriber's qmu.
	ending  bool
	final   []byte // written before closing, unless torn
	cause   error
	err     error
	blocked bool // a goroutine is finishing a write that would have blocked
	torn    bool // a write failed mid-frame: nothing more may be written
}

// Attach hands s, whose opening frames and replay were written to o.Conn,
// to the writer pool: from now on the pool writes what is queued, the
// heartbeats and, after End, the final frame, then calls o.OnEnd and closes
// o.Conn. It fails with ErrNotAttachable, leaving s to Serve, when o.Conn
// is not a socket.
func (s *Subscriber) Attach(o Outlet) error {
	sc, ok := o.Conn.(syscall.Conn)
	if !ok {
		return ErrNotAttachable
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return ErrNotAttachable
	}
	sh := s.hub.writers().pick()
	out := &outlet{Outlet: o, raw: raw, sub: s, shard: sh}
	out.last.Store(time.Now().UnixNano())
	sh.add(out)
	s.qmu.Lock()
	s.out = out
	if st := s.state.Load(); st != stateLive {
		// dropped (or closed) during the replay
		out.ending = true
		if st == stateSlow {
			out.cause = ErrSlow
		}
	}
	run := len(s.pending) > 0 || out.ending
	s.sched = run
	s.qmu.Unlock()
	if run {
		sh.submit(s)
	}
	return nil
}

// End ends an attached stream from any goroutine: what is still queued is
// dropped, final (if any) is written unless a write was cut mid-frame, the
// connection is closed and OnEnd gets cause. Only the first End counts; it
// does nothing on a subscriber that is not attached.
func (s *Subscriber) End(final []byte, cause error) {
	s.qmu.Lock()
	o := s.out
	if o == nil || o.ending {
		s.qmu.Unlock()
		return
	}
	o.ending, o.final, o.cause = true, final, cause
	for _, ev := range s.pending {
		s.queued.Add(-int64(len(ev.Frame)))
	}
	clear(s.pending)
	s.pending = nil
	run := !s.sched
	s.sched = true
	if o.blocked {
		// Cut the stuck write short: at once for a dropped client, and within
		// a second for one that is to get a final frame.
		d := time.Now()
		if cause != ErrSlow {
			d = d.Add(time.Second)
		}
		_ = o.Conn.SetWriteDeadline(d)
	}
	s.qmu.Unlock()
	if run {
		o.shard.submit(s)
	}
}

// tryWrite writes p without waiting: n < len(p) with a nil error means the
// socket buffer is full.
func (o *outlet) tryWrite(p []byte) (n int, err error) {
	w := &o.shard.nb
	w.p = p
	rerr := o.raw.Write(w.fn)
	n, err = max(w.n, 0), w.err
	*w = nbWrite{fn: w.fn}
	if err == syscall.EAGAIN {
		err = nil
	}
	if rerr != nil {
		return n, rerr
	}
	return n, err
}

// nbWrite is one non-blocking write(2), as the function RawConn.Write calls:
// bound once per shard, so a write allocates no closure.
type nbWrite struct {
	p   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func (w *nbWrite) do(fd uintptr) bool {
	for {
		w.n, w.err = syscall.Write(int(fd), w.p)
		if w.err != syscall.EINTR {
			return true // never wait here: a blocked write gets its own goroutine
		}
	}
}

// pool is the hub's writers, started with the first Attach.
type pool struct {
	shards []*shard
	next   atomic.Uint32
	stop   chan struct{}
}

// writers returns the hub's pool, starting it on first use.
func (h *Hub) writers() *pool {
	h.poolOnce.Do(func() {
		n := h.writerCount
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		p := &pool{stop: make(chan struct{})}
		for i := range n {
			sh := &shard{h: h, id: i, wake: make(chan struct{}, 1), buf: make([]byte, 0, h.writeBytes)}
			sh.nb.fn = sh.nb.do
			p.shards = append(p.shards, sh)
			h.poolWG.Add(1)
			go func() {
				defer h.poolWG.Done()
				sh.loop(p.stop)
			}()
		}
		h.pool.Store(p)
	})
	return h.pool.Load()
}

// Close stops the writer pool's goroutines (the streams on it must have
// ended: the service ends them on shutdown). It does nothing if no stream
// was ever attached.
func (h *Hub) Close() {
	if p := h.pool.Load(); p != nil {
		h.closeOnce.Do(func() { close(p.stop) })
		h.poolWG.Wait()
	}
}

func (p *pool) pick() *shard {
	return p.shards[int(p.next.Add(1))%len(p.shards)]
}

// shard is one writer goroutine and the connections attached to it.
type shard struct {
	h    *Hub
	id   int
	wake chan struct{} // cap 1: runq has work

	mu   sync.Mutex
	runq []*Subscriber // scheduled subscribers, in order
	all  []*outlet     // every attached connection, for heartbeats

	// Owned by the shard's goroutine.
	now  int64         // UnixNano, read once per batch: a write's time, for heartbeats
	work []*Subscriber // the runq being written
	evs  []*Event      // the frames of one write
	buf  []byte        // coalescing buffer, cap WriteBytes
	nb   nbWrite       // the one write in flight
	beat []*outlet     // scratch for heartbeats
	due  []*Subscriber // scratch for heartbeats
}

func (sh *shard) add(o *outlet) {
	sh.mu.Lock()
	o.idx = len(sh.all)
	sh.all = append(sh.all, o)
	sh.mu.Unlock()
}

func (sh *shard) remove(o *outlet) {
	sh.mu.Lock()
	last := len(sh.all) - 1
	moved := sh.all[last]
	sh.all[o.idx] = moved
	moved.idx = o.idx
	sh.all[last] = nil
	sh.all = sh.all[:last]
	sh.mu.Unlock()
}

// submit schedules s (whose sched the caller set) on sh.
func (sh *shard) submit(subs ...*Subscriber) {
	sh.mu.Lock()
	sh.runq = append(sh.runq, subs...)
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// loop writes scheduled subscribers until stop, and sweeps for heartbeats.
func (sh *shard) loop(stop <-chan struct{}) {
	var tick <-chan time.Time
	if every := sweepEvery(sh.h.heartbeat); every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-stop:
			return
		case <-tick:
			sh.heartbeats()
		case <-sh.wake:
		}
		for {
			sh.mu.Lock()
			sh.work, sh.runq = sh.runq, sh.work[:0]
			sh.mu.Unlock()
			if len(sh.work) == 0 {
				break
			}
			sh.now = time.Now().UnixNano()
			for i, s := range sh.work {
				sh.run(s)
				sh.work[i] = nil
			}
		}
	}
}

// sweepEvery is how often a shard looks for connections due a heartbeat: a
// heartbeat goes out between heartbeat and heartbeat + this after the last
// write.
func sweepEvery(heartbeat time.Duration) time.Duration {
	if heartbeat <= 0 {
		return 0
	}
	return min(max(heartbeat/8, time.Millisecond), time.Second)
}

// heartbeats queues ": hb" for every connection that wrote nothing for its
// heartbeat and has nothing queued.
func (sh *shard) heartbeats() {
	sh.mu.Lock()
	sh.beat = append(sh.beat[:0], sh.all...)
	sh.mu.Unlock()
	now := time.Now().UnixNano()
	for i, o := range sh.beat {
		sh.beat[i] = nil
		if now-o.last.Load() < int64(sh.h.heartbeat) {
			continue
		}
		s := o.sub
		s.qmu.Lock()
		if !s.sched && !o.ending {
			s.queued.Add(int64(len(heartbeatFrame)))
			s.pending = append(s.pending, heartbeat)
			s.sched = true
			sh.due = append(sh.due, s)
		}
		s.qmu.Unlock()
	}
	if len(sh.due) > 0 {
		sh.h.metrics.heartbeats.Add(float64(len(sh.due)))
		sh.submit(sh.due...)
		clear(sh.due)
		sh.due = sh.due[:0]
	}
}

// run writes what s has queued: one non-blocking write, or its end.
func (sh *shard) run(s *Subscriber) {
	o := s.out
	s.qmu.Lock()
	if o.ending {
		s.qmu.Unlock()
		sh.finish(s)
		return
	}
	sh.evs, _ = s.take(sh.evs[:0], sh.h.writeBytes, o.Skip)
	s.qmu.Unlock()
	if len(sh.evs) == 0 {
		sh.idle(s) // all replay duplicates
		return
	}
	out := frames(sh.evs, sh.buf[:0])
	copied := len(sh.evs) > 1 // out is sh.buf, which the next write reuses
	clear(sh.evs)
	n, err := o.tryWrite(out)
	switch {
	case err != nil:
		s.qmu.Lock()
		o.err, o.torn = err, true
		o.ending = true
		s.qmu.Unlock()
		sh.finish(s)
	case n < len(out):
		rest := out[n:]
		var buf *[]byte
		if copied {
			buf = sh.h.bufs.Get().(*[]byte)
			*buf = append((*buf)[:0], rest...)
			rest = *buf
		}
		s.qmu.Lock()
		o.blocked = true
		_ = o.Conn.SetWriteDeadline(time.Now().Add(sh.h.writeTimeout))
		s.qmu.Unlock()
		go sh.finishWrite(s, rest, buf)
	default:
		o.last.Store(sh.now)
		sh.h.metrics.writes.Inc()
		sh.idle(s)
	}
}

// idle unschedules s, or schedules it again when more is queued (or it is
// ending): after the others, so one busy connection cannot starve them.
func (sh *shard) idle(s *Subscriber) {
	s.qmu.Lock()
	again := len(s.pending) > 0 || s.out.ending
	s.sched = again
	s.qmu.Unlock()
	if again {
		sh.submit(s)
	}
}

// finishWrite completes, blocking, a write the socket could not take at
// once, then gives s back to its shard.
func (sh *shard) finishWrite(s *Subscriber, rest []byte, buf *[]byte) {
	o := s.out
	_, err := o.Conn.Write(rest)
	if buf != nil {
		*buf = (*buf)[:0]
		sh.h.bufs.Put(buf)
	}
	s.qmu.Lock()
	o.blocked = false
	if err != nil {
		o.err, o.torn, o.ending = err, true, true
	} else {
		_ = o.Conn.SetWriteDeadline(time.Time{})
		o.last.Store(time.Now().UnixNano())
	}
	s.qmu.Unlock()
	if err == nil {
		sh.h.metrics.writes.Inc()
	}
	sh.submit(s) // still scheduled: the shard writes what queued meanwhile, or ends it
}

// finish writes the final frame (unless a write was cut mid-frame), closes
// the connection and reports the end.
func (sh *shard) finish(s *Subscriber) {
	o := s.out
	s.qmu.Lock()
	final := o.final
	if o.torn {
		final = nil
	}
	s.qmu.Unlock()
	if len(final) > 0 {
		n, err := o.tryWrite(final)
		if err == nil && n < len(final) {
			go func() {
				_ = o.Conn.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = o.Conn.Write(final[n:])
				sh.close(s)
			}()
			return
		}
	}
	sh.close(s)
}

func (sh *shard) close(s *Subscriber) {
	o := s.out
	_ = o.Conn.Close()
	sh.remove(o)
	s.qmu.Lock()
	cause, err := o.cause, o.err
	s.qmu.Unlock()

	if o.OnEnd != nil {
		o.OnEnd(cause, err)
	}
}
