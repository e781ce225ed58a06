package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Why hijack: net/http keeps, per idle stream, its connection goroutine, a
// background reader goroutine, a 4 KiB bufio.Reader, a 4 KiB bufio.Writer and
// a chunk writer (≈ 31 KiB RSS in all). A stream reads nothing after its
// request and needs no chunked framing: once the request is validated the
// handler takes the connection, writes the response head itself, and a fresh
// goroutine with a small stack writes frames straight to the socket while the
// handler returns and lets net/http free the rest. The body is delimited by
// the server closing the connection (no Content-Length, no Transfer-Encoding),
// which is how an event stream ends anyway.
//
// What is lost: net/http no longer reads the socket, so a client that leaves
// is noticed only when a write fails. The first write after a FIN usually
// still succeeds (the peer answers it with a reset), so a silent stream ends
// within two heartbeats instead of at once. A blocking read to notice it
// earlier would cost a goroutine per connection, which is what hijacking saves.

// errKept means the connection stays with net/http: not HTTP/1.x, a HEAD
// request, a ResponseWriter that cannot be hijacked, or the service draining.
var errKept = errors.New("connection kept by net/http")

// hijack takes over the connection of a validated GET stream request. On
// success the conn is tracked in s.streams and the caller must end it; extra
// is how many bytes the client sent after its request. Any error but errKept
// means the connection is gone.
func (s *Handler) hijack(w http.ResponseWriter, r *http.Request) (conn net.Conn, extra int, err error) {
	if r.ProtoMajor != 1 || r.Method != http.MethodGet || !s.streams.begin() {
		return nil, 0, errKept
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.streams.end(nil)
		if errors.Is(err, http.ErrNotSupported) {
			return nil, 0, errKept
		}
		return nil, 0, err
	}
	// A stream request has no body. Whatever the client sent after it (a
	// pipelined request) is ignored: the connection ends with the stream.
	// brw (net/http's 4 KiB buffers) is dropped here.
	extra = brw.Reader.Buffered()
	if !s.streams.attach(conn) {
		_ = conn.Close()
		s.streams.end(nil)
		return nil, 0, errShutdown // Drain gave up while this one was being hijacked
	}
	return conn, extra, nil
}

// appendHead appends the response head net/http would have written for the
// stream, minus Transfer-Encoding: the status line, h's fields sorted, Date.
func appendHead(b []byte, r *http.Request, h http.Header) []byte {
	if r.ProtoAtLeast(1, 1) {
		b = append(b, "HTTP/1.1 200 OK\r\n"...)
	} else {
		b = append(b, "HTTP/1.0 200 OK\r\n"...)
	}
	buf := bytes.NewBuffer(b)
	_ = h.Write(buf) // sorted by key, as net/http writes them
	b = append(buf.Bytes(), "Date: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	return append(b, "\r\n\r\n"...)
}

// tracker counts the streams on hijacked connections: http.Server.Shutdown
// neither waits for nor closes those, so Drain does.
type tracker struct {
	mu       sync.Mutex
	n        int                // streams begun and not ended, hijacked or about to be
	conns    map[net.Conn]*conn // the stream once it is live on the writer pool, else nil
	draining bool
	forced   bool          // Drain gave up and closed the connections
	idle     chan struct{} // closed when draining and n reached 0
}

// begin counts a stream about to be hijacked; false once draining (the
// request is then served by net/http, which the server still tracks).
func (t *tracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return false
	}
	t.n++
	return true
}

// attach records the hijacked conn so Drain can close it; false when Drain
// already gave up on the streams.
func (t *tracker) attach(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.forced {
		return false
	}
	if t.conns == nil {
		t.conns = make(map[net.Conn]*conn)
	}
	t.conns[c] = nil
	return true
}

// live records that sock's stream c is on the writer pool, for endLive.
func (t *tracker) live(sock net.Conn, c *conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.conns[sock]; ok {
		t.conns[sock] = c
	}
}

// endLive ends every stream on the writer pool with a retry frame: one
// shutdown hook for them all, instead of one per stream.
func (s *Handler) endLive() {
	t := &s.streams
	t.mu.Lock()
	var live []*conn
	for _, c := range t.conns {
		if c != nil {
			live = append(live, c)
		}
	}
	t.mu.Unlock()
	for _, c := range live {
		c.sub.End(s.finalFrame(errShutdown), errShutdown)
	}
}

// end uncounts a stream begun with begin; c is its conn if attached.
func (t *tracker) end(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c != nil {
		delete(t.conns, c)
	}
	t.n--
	if t.n == 0 && t.draining && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

// Drain waits until every stream on a hijacked connection has ended (they
// end by themselves once Shutdown is done: retry frame, then close). When ctx
// is done first, it closes the connections left, which fails their pending
// writes, gives their streams a moment to end, and returns how many it closed.
func (s *Handler) Drain(ctx context.Context) int {
	t := &s.streams
	t.mu.Lock()
	t.draining = true
	if t.n == 0 {
		t.mu.Unlock()
		return 0
	}
	idle := make(chan struct{})
	t.idle = idle
	t.mu.Unlock()

	select {
	case <-idle:
		return 0
	case <-ctx.Done():
	}
	t.mu.Lock()
	t.forced = true
	n := len(t.conns)
	for c := range t.conns {
		_ = c.Close()
	}
	t.mu.Unlock()
	select {
	case <-idle:
	case <-time.After(time.Second):
	}
	return n
}
