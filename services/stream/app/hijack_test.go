package app_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go/jetstream"
)

// rawGet sends a GET for path on a plain TCP connection and returns it with a
// reader positioned at the start of the response.
func rawGet(t *testing.T, a *testApp, path, extra string, rcvbuf int) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		if rcvbuf == 0 {
			return nil
		}
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(a.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: herald\r\nX-Request-Id: req-1\r\n\r\n" + extra
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

// The hijacked stream's head is what net/http wrote before, minus the chunked
// framing: the body is delimited by the server closing the connection. Bytes
// the client sends after its request (here a pipelined request) are ignored.
func TestHijackedHeadExact(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.Retry = 2500 * time.Millisecond })
	conn, br := rawGet(t, a, "/stream?channel=news", "GET /healthz HTTP/1.1\r\nHost: herald\r\n\r\n", 0)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))

	var head []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head: %v (so far %q)", err, head)
		}
		if l == "\r\n" {
			break
		}
		head = append(head, l)
	}
	if len(head) != 7 || !strings.HasPrefix(head[6], "Date: ") {
		t.Fatalf("head = %q", head)
	}
	if _, err := time.Parse(http.TimeFormat, strings.TrimSpace(strings.TrimPrefix(head[6], "Date: "))); err != nil {
		t.Fatalf("Date: %v", err)
	}
	want := "HTTP/1.1 200 OK\r\n" +
		"Cache-Control: no-cache\r\n" +
		"Connection: close\r\n" +
		"Content-Type: text/event-stream; charset=utf-8\r\n" +
		"X-Accel-Buffering: no\r\n" +
		"X-Request-Id: req-1\r\n"
	if got := strings.Join(head[:6], ""); got != want {
		t.Fatalf("head =\n%q\nwant\n%q", got, want)
	}
	l, _ := br.ReadString('\n')
	if l != "retry: 2500\n" {
		t.Fatalf("first body line %q, want the retry frame unframed", l)
	}
	seq := streamtest.Publish(t, e.js, "news", "", `1`)
	frame := "id: " + uitoa(seq) + "\ndata: " + streamtest.Envelope("news", "", `1`) + "\n\n"
	body, err := br.ReadString('}') // skip herald.connected
	if err != nil || !strings.Contains(body, "herald.connected") {
		t.Fatalf("connected frame %q: %v", body, err)
	}
	rest := make([]byte, len("\n\n")+len(frame))
	if _, err := io.ReadFull(br, rest); err != nil || string(rest) != "\n\n"+frame {
		t.Fatalf("event bytes %q (%v), want %q", rest, err, frame)
	}
}

// SIGTERM with streams on hijacked connections: Shutdown does not see them,
// so Run itself must send each its retry frame, close it, and wait for that
// before returning (bounded by sse.shutdown_grace: a stream stuck in a write
// is closed when the grace runs out).
func TestShutdownEndsHijackedStreams(t *testing.T) {
	for _, stuck := range []bool{false, true} {
		name := map[bool]string{false: "all reading", true: "one stuck in a write"}[stuck]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, jetstream.StreamConfig{})
			const grace = 1500 * time.Millisecond
			a := startApp(t, e.nats.URL(), true, func(c *config.Config) {
				c.Retry = time.Second
				c.ShutdownGrace = grace
				c.WriteTimeout = time.Minute
				c.QueueSize = 1 << 16 // the stuck client must stay stuck, not be dropped as slow
			})
			var clients []*ssetest.Client
			for range 3 {
				c, _ := a.open(t, nil, "news")
				clients = append(clients, c)
			}
			if stuck {
				// Never reads, through a tiny receive buffer: the writer for
				// this stream blocks in a write with a one-minute deadline.
				_, _ = rawGet(t, a, "/stream?channel=big", "", 4096)
				testkit.Eventually(t, 5*time.Second, func() bool { return a.Connections() == 4 }, "4 connections")
				big := `"` + strings.Repeat("x", 64<<10) + `"`
				for range 128 { // 8 MiB: more than the socket buffers hold
					streamtest.Publish(t, e.js, "big", "", big)
				}
				// Once the readers have this one, the hub has queued every big
				// event: the stuck writer cannot be done with them.
				streamtest.Publish(t, e.js, "news", "", `1`)
				for _, c := range clients {
					if it, ok := c.Next(5*time.Second, "event"); !ok || it.Type != "message" {
						t.Fatalf("reader: %+v, %v", it, ok)
					}
				}
			}

			// Run returns (a stuck stream is closed when the grace runs out,
			// so it cannot hold the shutdown forever) and by then every
			// stream has ended and left the hub.
			a.stop(t)
			if n := a.Connections(); n != 0 {
				t.Fatalf("%d streams still open after Run returned", n)
			}
			for i, c := range clients {
				rest, ended := c.Ended(time.Second)
				if !ended {
					t.Fatalf("client %d: stream not closed", i)
				}
				if len(rest) == 0 || rest[len(rest)-1].Kind != "retry" {
					t.Fatalf("client %d: last items %+v; want a retry frame", i, rest)
				}
			}
		})
	}
}

// After the hijack nothing reads the connection, so a client that leaves is
// noticed when a write fails: with heartbeats it leaves the hub within two
// heartbeats (the first write after its FIN is usually still accepted).
func TestGoneClientCleanedUpByHeartbeat(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.Heartbeat = 50 * time.Millisecond })
	keep, _ := a.open(t, nil, "news")
	defer keep.Close()
	conn, br := rawGet(t, a, "/stream?channel=news", "", 0)
	if _, err := br.ReadString('}'); err != nil { // through herald.connected
		t.Fatal(err)
	}
	if a.Connections() != 2 {
		t.Fatalf("%d connections, want 2", a.Connections())
	}
	conn.Close()
	testkit.Eventually(t, 5*time.Second, func() bool { return a.Connections() == 1 }, "the gone client to leave the hub")
	testkit.Eventually(t, 5*time.Second, func() bool {
		return contains(a.metrics(t), `herald_stream_disconnects_total{reason="client"} 1`)
	}, "the disconnect to be counted as the client's")
}

// A HEAD request is not hijacked (a hijacked stream would write a body):
// it takes the net/http path, which stays as it was.
func TestHeadRequestStaysWithNetHTTP(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, nil)
	conn, br := rawGet(t, a, "/stream?channel=news", "", 0)
	_ = conn // the GET keeps a hijacked stream open next to the HEAD one
	if l, err := br.ReadString('\n'); err != nil || l != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("GET: %q, %v", l, err)
	}
	req, _ := http.NewRequest(http.MethodHead, a.streamURL("news"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}
	// net/http notices the HEAD client leave at once; the hijacked GET stays.
	http.DefaultClient.CloseIdleConnections()
	testkit.Eventually(t, 5*time.Second, func() bool { return a.Connections() == 1 }, "the HEAD stream to end")
}
