package hub

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// socketPair returns both ends of a real loopback TCP connection.
func socketPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// ends records OnEnd calls.
type ends struct {
	mu    sync.Mutex
	n     int
	cause error
	err   error
}

func (e *ends) onEnd(cause, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	e.cause, e.err = cause, err
}

func (e *ends) get() (int, error, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n, e.cause, e.err
}

// reader collects what a client socket receives until EOF or an error.
type reader struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	err  error
}

func read(c net.Conn) *reader {
	r := &reader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		p := make([]byte, 32<<10)
		for {
			n, err := c.Read(p)
			r.mu.Lock()
			r.buf.Write(p[:n])
			r.mu.Unlock()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					r.err = err
				}
				return
			}
		}
	}()
	return r
}

func (r *reader) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// TestAttachedWritesEveryEventInOrder: several attached connections on two
// writers each receive every matching event, in order, byte for byte, and
// a queue skip drops what a replay already sent.
func TestAttachedWritesEveryEventInOrder(t *testing.T) {
	h := New(Options{QueueSize: 1024, Writers: 2})
	t.Cleanup(h.Close)
	const conns, events = 8, 300
	readers := make([]*reader, conns)
	var want strings.Builder
	for i := 1; i <= 2; i++ {
		h.Publish(ev(uint64(i), "other")) // before anyone subscribed
	}
	subs := make([]*Subscriber, conns)
	for i := range subs {
		subs[i], _ = h.Subscribe([]string{"a"})
	}
	// Queued before Attach, 3 and 4 as if a replay had sent them.
	h.Publish(ev(3, "a"))
	h.Publish(ev(4, "a"))
	h.Publish(ev(5, "a"))
	want.Write(ev(5, "a").Frame)
	for i, s := range subs {
		srv, cli := socketPair(t)
		readers[i] = read(cli)
		if err := s.Attach(Outlet{Conn: srv, Skip: 4}); err != nil {
			t.Fatal(err)
		}
	}
	for seq := uint64(6); seq < 6+events; seq++ {
		ch := "a"
		if seq%3 == 0 {
			ch = "b" // matches nobody
		} else {
			want.Write(ev(seq, ch).Frame)
		}
		h.Publish(ev(seq, ch))
	}
	for i, r := range readers {
		testkit.Eventually(t, 10*time.Second, func() bool { got := r.String(); return len(got) >= want.Len() || got != want.String()[:len(got)] }, "events written")
		if got := r.String(); got != want.String() {
			t.Fatalf("conn %d got %d bytes, want %d: not every event once in order", i, len(got), want.Len())
		}
	}
}

// TestAttachedHeartbeat: an idle attached connection gets ": hb", counted.
func TestAttachedHeartbeat(t *testing.T) {
	reg := NewMetrics(nil)
	h := New(Options{Heartbeat: 10 * time.Millisecond, Metrics: reg})
	t.Cleanup(h.Close)
	s, _ := h.Subscribe([]string{"a"})
	srv, cli := socketPair(t)
	r := read(cli)
	if err := s.Attach(Outlet{Conn: srv}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return strings.Count(r.String(), hb) >= 3 }, "three heartbeats")
	h.Publish(ev(1, "a"))
	testkit.Eventually(t, 10*time.Second, func() bool { return strings.Contains(r.String(), string(ev(1, "a").Frame)) }, "the event between heartbeats")
	if got := strings.ReplaceAll(r.String(), hb, ""); got != string(ev(1, "a").Frame) {
		t.Errorf("besides heartbeats got %q", got)
	}
	if testutil.ToFloat64(reg.heartbeats) < 3 {
		t.Errorf("heartbeat metric = %v", testutil.ToFloat64(reg.heartbeats))
	}
}

// TestEndWritesFinalFrameThenCloses: End drops what is queued, writes the
// final frame, reports the cause and closes; a second End changes nothing.
func TestEndWritesFinalFrameThenCloses(t *testing.T) {
	h := New(Options{})
	t.Cleanup(h.Close)
	s, _ := h.Subscribe([]string{"a"})
	srv, cli := socketPair(t)
	r := read(cli)
	var e ends
	if err := s.Attach(Outlet{Conn: srv, OnEnd: e.onEnd}); err != nil {
		t.Fatal(err)
	}
	h.Publish(ev(1, "a"))
	testkit.Eventually(t, 10*time.Second, func() bool { return r.String() == string(ev(1, "a").Frame) }, "first event")
	cause := errors.New("shutting down")
	s.End([]byte("retry: 1500\n\n"), cause)
	s.End([]byte("retry: 9\n\n"), errors.New("second"))
	<-r.done
	if got, want := r.String(), string(ev(1, "a").Frame)+"retry: 1500\n\n"; got != want {
		t.Errorf("client got %q, want %q", got, want)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { n, _, _ := e.get(); return n > 0 }, "OnEnd")
	if n, c, err := e.get(); n != 1 || c != cause || err != nil {
		t.Errorf("OnEnd %d times, cause %v, err %v", n, c, err)
	}
	s.Close()
	if h.Count() != 0 {
		t.Errorf("Count = %d after Close", h.Count())
	}
}

// TestAttachedClientGone: a client that left is noticed by the next write,
// which ends the stream with the write's error.
func TestAttachedClientGone(t *testing.T) {
	h := New(Options{})
	t.Cleanup(h.Close)
	s, _ := h.Subscribe([]string{"a"})
	srv, cli := socketPair(t)
	var e ends
	if err := s.Attach(Outlet{Conn: srv, OnEnd: e.onEnd}); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	// The first write after the FIN may still succeed (the peer answers it
	// with a reset); a later one fails.
	for seq := uint64(1); ; seq++ {
		h.Publish(ev(seq, "a"))
		if n, _, _ := e.get(); n > 0 {
			break
		}
		if seq > 10_000 {
			t.Fatal("writes to a closed client never failed")
		}
		runtime.Gosched()
	}
	_, cause, err := e.get()
	if cause != nil || !(errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("cause %v, err %v; want the write error", cause, err)
	}
}

// TestAttachedSlowReaderDropped: a client that stops reading fills its
// socket, then its queue: it is dropped as slow (the stuck write is cut),
// while a reading client on the same channel and writer gets every event.
// A stuck write never holds up the writer: the good client's events keep
// flowing while the slow one's socket is full.
func TestAttachedSlowReaderDropped(t *testing.T) {
	reg := NewMetrics(nil)
	h := New(Options{QueueSize: 8, Writers: 1, Metrics: reg})
	t.Cleanup(h.Close)
	slow, _ := h.Subscribe([]string{"a"})
	good, _ := h.Subscribe([]string{"a"})
	srvSlow, _ := socketPair(t) // nobody reads the client end
	srvGood, cliGood := socketPair(t)
	_ = srvSlow.(*net.TCPConn).SetWriteBuffer(4 << 10)
	r := read(cliGood)
	var es, eg ends
	if err := slow.Attach(Outlet{Conn: srvSlow, OnEnd: es.onEnd}); err != nil {
		t.Fatal(err)
	}
	if err := good.Attach(Outlet{Conn: srvGood, OnEnd: eg.onEnd}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 16<<10)
	var want bytes.Buffer
	for seq := uint64(1); ; seq++ {
		e := &Event{Seq: seq, Channel: "a", Frame: append(append([]byte("data: "), big...), "\n\n"...)}
		h.Publish(e)
		want.Write(e.Frame)
		// Publish in step with the good reader, so only the slow one lags.
		testkit.Eventually(t, 10*time.Second, func() bool { return len(r.String()) == want.Len() }, "good client keeps up")
		if n, _, _ := es.get(); n > 0 {
			break
		}
		if seq > 100_000 {
			t.Fatal("the slow client was never dropped")
		}
	}
	if _, cause, _ := es.get(); cause != ErrSlow {
		t.Errorf("slow client ended with cause %v, want ErrSlow", cause)
	}
	if n, _, _ := eg.get(); n != 0 || good.Err() != nil {
		t.Error("the good client was ended too")
	}
	if slow.Err() != ErrSlow || testutil.ToFloat64(reg.slowEvents) != 1 {
		t.Errorf("Err = %v, slow{queue_events} = %v", slow.Err(), testutil.ToFloat64(reg.slowEvents))
	}
}

// TestEndDuringStuckWriteLeavesNoHalfFrame: when a stream ends while a
// write is stuck mid-frame, the final frame is not appended to the half
// frame (that would corrupt the event the client is parsing): the client
// sees whole frames, then at most a cut one, then the close.
func TestEndDuringStuckWriteLeavesNoHalfFrame(t *testing.T) {
	h := New(Options{QueueSize: 1024})
	t.Cleanup(h.Close)
	s, _ := h.Subscribe([]string{"a"})
	srv, cli := socketPair(t)
	_ = srv.(*net.TCPConn).SetWriteBuffer(4 << 10)
	_ = cli.(*net.TCPConn).SetReadBuffer(4 << 10)
	var e ends
	if err := s.Attach(Outlet{Conn: srv, OnEnd: e.onEnd}); err != nil {
		t.Fatal(err)
	}
	frame := append(append([]byte("data: "), bytes.Repeat([]byte("y"), 64<<10)...), "\n\n"...)
	var all bytes.Buffer
	for seq := uint64(1); seq <= 10; seq++ { // 640 KiB: within queue_bytes
		h.Publish(&Event{Seq: seq, Channel: "a", Frame: frame})
		all.Write(frame)
	}
	// The sockets hold far less than 10 × 64 KiB: the write is stuck.
	testkit.Eventually(t, 10*time.Second, func() bool {
		s.qmu.Lock()
		defer s.qmu.Unlock()
		return s.out.blocked
	}, "a stuck write")
	s.End([]byte("retry: 1000\n\n"), errors.New("shutdown"))
	testkit.Eventually(t, 10*time.Second, func() bool { n, _, _ := e.get(); return n > 0 }, "the end")
	got, _ := io.ReadAll(cli)
	if !bytes.HasPrefix(all.Bytes(), got) {
		t.Fatalf("client got %d bytes that are not a prefix of the frames sent (tail %q)", len(got), got[max(0, len(got)-40):])
	}
}

// TestAttachedIdleCost: an attached idle stream costs no goroutine and
// little heap: the hub's share (Subscriber, outlet, index) is bounded per
// connection, measured as heap after GC.
func TestAttachedIdleCost(t *testing.T) {
	const n = 500
	h := New(Options{Heartbeat: time.Hour})
	t.Cleanup(h.Close)
	srvs := make([]net.Conn, n)
	for i := range srvs {
		srvs[i], _ = socketPair(t)
	}
	h.Publish(ev(1, "warm")) // the ring and metrics, before measuring
	h.writers()
	g0, heap0 := runtime.NumGoroutine(), heapAfterGC()
	subs := make([]*Subscriber, n)
	for i := range subs {
		subs[i], _ = h.Subscribe([]string{"room." + string(rune('a'+i%26))})
		if err := subs[i].Attach(Outlet{Conn: srvs[i]}); err != nil {
			t.Fatal(err)
		}
	}
	g1, heap1 := runtime.NumGoroutine(), heapAfterGC()
	if g1-g0 > 4 {
		t.Errorf("%d goroutines for %d attached streams", g1-g0, n)
	}
	per := float64(heap1-heap0) / n
	t.Logf("heap per attached idle stream: %.0f bytes", per)
	if per > 1024 {
		t.Errorf("heap per attached idle stream = %.0f bytes, want ≤ 1 KiB", per)
	}
	runtime.KeepAlive(subs)
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
