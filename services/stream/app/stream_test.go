package app_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-push/herald/services/kit/problem"
	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go/jetstream"
)

func TestHeadersAndOpeningFramesExact(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.Retry = 2500 * time.Millisecond })

	resp, err := http.Get(a.streamURL("news", "chat.*", "news"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	br := bufio.NewReader(resp.Body)
	// Headers and opening frames arrive at once, before any event exists.
	var lines []string
	for len(lines) < 4 { // retry + event + data in one block, then its blank line
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	got := strings.Join(lines, "")
	prefix := "retry: 2500\nevent: herald.connected\ndata: {\"connection_id\":\""
	suffix := "\",\"channels\":[\"chat.*\",\"news\"]}\n\n"
	if !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix) {
		t.Fatalf("opening frames = %q", got)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(got, prefix), suffix)
	if len(id) < 22 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Fatalf("connection id %q: want ≥128 random bits, URL-safe", id)
	}

	seq := streamtest.Publish(t, e.js, "news", "", `{"n":1}`)
	streamtest.Publish(t, e.js, "other", "", `1`)
	seq3 := streamtest.Publish(t, e.js, "chat.room1", "said", "\"multi\\nline\"")
	want := "id: " + uitoa(seq) + "\ndata: " + streamtest.Envelope("news", "", `{"n":1}`) + "\n\n" +
		"id: " + uitoa(seq3) + "\nevent: said\ndata: " + streamtest.Envelope("chat.room1", "said", "\"multi\\nline\"") + "\n\n"
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(br, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != want {
		t.Fatalf("events =\n%q\nwant\n%q", buf, want)
	}
}

func TestEventsOfSeveralChannelsAndWildcards(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, nil)

	subs := [][]string{{"news"}, {"chat.*"}, {"chat.>"}, {">"}, {"*"}, {"chat.*.x", "news"}, {"*.room1"}}
	names := []string{"news", "chat", "chat.room1", "chat.room2", "chat.room1.x", "sports.room1", "news.x"}
	type sent struct {
		seq uint64
		ch  string
	}
	clients := make([]*streamtest.Client, len(subs))
	for i, s := range subs {
		clients[i], _ = a.open(t, nil, s...)
	}
	var all []sent
	for _, n := range names {
		all = append(all, sent{streamtest.Publish(t, e.js, n, "", `"`+n+`"`), n})
	}
	// What NATS itself would deliver to a subscription on each pattern decides
	// what each client must get.
	nc, _ := e.nats.Connect(t)
	for i, s := range subs {
		t.Run(strings.Join(s, ","), func(t *testing.T) {
			var want []streamtest.Item
			for _, m := range all {
				if natsMatches(t, nc, s, m.ch) {
					want = append(want, ev(m.seq, m.ch, "", `"`+m.ch+`"`))
				}
			}
			expectEvents(t, clients[i], want)
		})
	}
}

func TestHeartbeat(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.Heartbeat = 20 * time.Millisecond })
	c, _ := a.open(t, nil, "news")
	for range 3 {
		it, ok := c.Next(5*time.Second, "comment")
		if !ok || it.Comment != "hb" {
			t.Fatalf("got %+v, %v; want a ': hb' comment", it, ok)
		}
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.MaxChannels = 3 })
	tests := []struct {
		name  string
		query string
		hdr   string
		want  string
	}{
		{"no channel", "", "", "at least one channel"},
		{"empty channel", "channel=", "", "channel"},
		{"bad name", "channel=a..b", "", `"a..b"`},
		{"misplaced >", "channel=a.%3E.b", "", "last token"},
		{"space", "channel=a%20b", "", "channel"},
		{"too many", "channel=a&channel=b&channel=c&channel=d", "", "at most 3"},
		{"non-numeric query id", "channel=a&last_event_id=abc", "", "last_event_id"},
		{"negative query id", "channel=a&last_event_id=-1", "", "last_event_id"},
		{"non-numeric header id", "channel=a", "12x", "Last-Event-ID"},
		{"header wins over a good query id", "channel=a&last_event_id=5", "x", "Last-Event-ID"},
		{"overflowing id", "channel=a&last_event_id=99999999999999999999999", "", "last_event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, a.base+"/stream?"+tt.query, nil)
			if tt.hdr != "" {
				req.Header.Set("Last-Event-ID", tt.hdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p problem.Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != problem.ContentType || p.Status != 400 || !strings.Contains(p.Detail, tt.want) {
				t.Fatalf("%d %s %+v; want 400 problem+json mentioning %q", resp.StatusCode, resp.Header.Get("Content-Type"), p, tt.want)
			}
		})
	}
	t.Run("wrong method", func(t *testing.T) {
		resp, err := http.PostForm(a.streamURL("a"), url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("POST /stream = %d", resp.StatusCode)
		}
	})
}

// A client that stops reading is disconnected (and counted) while a second
// client on the same channel receives every event.
func TestSlowClientIsDroppedOthersUnaffected(t *testing.T) {
	// The test publishes 64 KiB events in steps of 4, so the good client
	// lags by at most 4 events (≈ 262 KB); the stalled one goes past either
	// bound, and resumes losslessly whichever dropped it.
	t.Run("queue_events", func(t *testing.T) {
		testSlowClientDropped(t, "queue_events", func(c *config.Config) { c.QueueSize = 4 })
	})
	t.Run("queue_bytes", func(t *testing.T) {
		testSlowClientDropped(t, "queue_bytes", func(c *config.Config) { c.QueueBytes = 300 << 10 })
	})
}

func testSlowClientDropped(t *testing.T, reason string, mod func(*config.Config)) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) {
		mod(c)
		// Long enough that a full queue, not the blocked write, drops the
		// stalled client on a loaded machine; short enough that its
		// connection then closes soon.
		c.WriteTimeout = 2 * time.Second
	})
	// The stalled client never reads its body, through a tiny receive
	// buffer: its socket fills, then its queue, and the hub drops it.
	tiny := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		// set before connecting, so the advertised window is small from the start
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		},
	}).DialContext}}
	stalled, err := tiny.Get(a.streamURL("news"))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Body.Close()
	good, _ := a.open(t, nil, "news")

	// Publish in small steps and let the good client read each step, so it
	// never lags by more than its queue holds whatever the machine's speed;
	// stop once the stalled client was dropped. 16 MB is more than the
	// stalled socket's buffers (≤ 4 MB each way here) and its queue hold.
	big := `"` + strings.Repeat("x", 64<<10) + `"`
	const step, maxEvents = 4, 256
	dropped := false
	var all []published
	for i := 0; i < maxEvents && !dropped; i += step {
		var seqs []uint64
		for range step {
			seqs = append(seqs, streamtest.Publish(t, e.js, "news", "", big))
			all = append(all, published{seqs[len(seqs)-1], "news"})
		}
		for _, seq := range seqs {
			it, ok := good.Next(10 * time.Second)
			if !ok || it.ID != uitoa(seq) {
				t.Fatalf("good client: got %q, %v; want id %d", it.ID, ok, seq)
			}
		}
		dropped = strings.Contains(a.metrics(t), `herald_stream_disconnects_total{reason="slow"} 1`)
	}
	if !dropped {
		t.Fatalf("stalled client not dropped after %d MB", maxEvents*len(big)>>20)
	}
	if a.Connections() != 1 {
		t.Fatalf("%d connections, want only the good one", a.Connections())
	}
	if m := a.metrics(t); !strings.Contains(m, `herald_stream_slow_disconnects_total{reason="`+reason+`"} 1`) {
		t.Errorf("the drop was not counted as %s", reason)
	}

	// The dropped client now reads what reached it (a browser discards a
	// cut-off last frame) and resumes from its last id: it loses nothing.
	var lastID string
	streamtest.Parse(stalled.Body, func(it streamtest.Item) {
		if it.Kind == "event" && it.HasID {
			lastID = it.ID
		}
	})
	last, err := strconv.ParseUint(lastID, 10, 64)
	if err != nil {
		t.Fatalf("stalled client's last id %q", lastID)
	}
	resumed := streamtest.Dial(t, a.streamURL("news"), http.Header{"Last-Event-Id": {lastID}})
	expectExactly(t, resumed, all, last, "news")
}

// The SIGTERM path: every client gets a retry frame, then its stream ends,
// and Run returns.
func TestShutdownSendsRetryAndCloses(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.Retry = 1000 * time.Millisecond })
	var clients []*streamtest.Client
	for range 3 {
		c, _ := a.open(t, nil, "news")
		clients = append(clients, c)
	}
	a.stop(t)
	for i, c := range clients {
		rest, ended := c.Ended(5 * time.Second)
		if !ended {
			t.Fatalf("client %d: stream not closed", i)
		}
		if len(rest) == 0 || rest[len(rest)-1].Kind != "retry" {
			t.Fatalf("client %d: last items %+v; want a retry frame", i, rest)
		}
		if r := rest[len(rest)-1].Retry; r < 500 || r > 1500 {
			t.Fatalf("client %d: retry %d ms, want 1000 ±50%%", i, r)
		}
	}
	if _, err := http.Get(a.base + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}

func TestMaxLifetimeClosesStream(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.MaxLifetime = time.Second })
	c, _ := a.open(t, nil, "news")
	if _, ended := c.Ended(5 * time.Second); !ended {
		t.Fatal("stream outlived sse.max_lifetime")
	}
	if !strings.Contains(a.metrics(t), `herald_stream_disconnects_total{reason="lifetime"} 1`) {
		t.Fatal("lifetime disconnect not counted")
	}
}

func (a *testApp) metrics(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(a.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
