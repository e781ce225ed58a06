package e2e_test

// The front door's refusals, at the HTTP level: nginx's own errors are
// problem+json, a stream nginx cannot place is a 200 event stream holding only
// a retry: (a native EventSource keeps retrying), the per-IP stream limit
// refuses one address while another still connects, the API rate limit
// answers 429 with Retry-After, and the access log never holds a token.

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/internal/ssetest"
	"github.com/herald-push/herald/e2e/launcher"
)

// fromIP is an HTTP client whose connections leave from the loopback address
// ip (any 127.x.y.z is this machine on Linux), i.e. another client IP to nginx.
func fromIP(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

var refusedRetry = regexp.MustCompile(`(?m)^retry: ([0-9]+)$`)

// assertRefusedStream GETs /stream and wants the no-dead-end answer: 200
// text/event-stream, a retry: of 1.5-2.5 s, no event, and the end of the body.
func assertRefusedStream(t *testing.T, client *http.Client, url string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // returns: nginx closes the stream
	if err != nil {
		t.Fatalf("reading the refused stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("refused stream: %d %s %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	m := refusedRetry.FindSubmatch(body)
	if m == nil || strings.Contains(string(body), "data:") {
		t.Fatalf("refused stream body %q, want only a retry: and no event", body)
	}
	if ms, _ := strconv.Atoi(string(m[1])); ms < 1500 || ms > 2500 {
		t.Errorf("retry: %d ms, want 1500-2500", ms)
	}
}

func TestFrontDoorNginxErrorsAreProblems(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), APIRate: "1r/m", APIBurst: 2})
	longURI := "/api/v1/channels/" + strings.Repeat("a", 9000) + "/events"
	tests := []struct {
		name   string
		raw    string // the request as sent on the wire
		status int
	}{
		{"bad percent-encoding", "GET /stream/%zz/../x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"malformed request line", "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"URI too long", "GET " + longURI + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"header too large", "GET /api/v1/channels/x/events HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("c", 9000) + "\r\n\r\n", 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawRequest(t, s.BaseURL, tt.raw)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!strings.Contains(string(body), `"status":`+strconv.Itoa(tt.status)) {
				t.Fatalf("%d %s %q, want %d problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status)
			}
		})
	}

	t.Run("API over its rate is 429 problem+json with Retry-After", func(t *testing.T) {
		client := fromIP("127.0.0.3") // a fresh address: its own bucket
		var last *http.Response
		var body []byte
		// 1r/m with burst 2: the first three go through, then 429.
		for range 4 {
			resp, err := client.Get(s.BaseURL + "/api/v1/channels/chat.rate/events")
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			last = resp
		}
		if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Content-Type") != "application/problem+json" ||
			last.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"status":429`) {
			t.Fatalf("4th API request: %d %s Retry-After %q %q", last.StatusCode, last.Header.Get("Content-Type"), last.Header.Get("Retry-After"), body)
		}
		// Another address is not limited.
		resp, err := fromIP("127.0.0.4").Get(s.BaseURL + "/api/v1/channels/chat.rate/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("another address got 429")
		}
	})

	t.Run("no replica: the stream retries, the API stays problem+json", func(t *testing.T) {
		for i := range s.StreamURLs {
			if err := s.KillStream(i); err != nil && !isKilled(err) {
				t.Fatal(err)
			}
		}
		assertRefusedStream(t, fromIP("127.0.0.5"), s.BaseURL+"/stream?channel=chat.lobby")
	})
}

// rawRequest sends raw on a new connection to base and reads the answer.
func rawRequest(t *testing.T, base, raw string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %.60q: %v", raw, err)
	}
	return resp
}

// TestFrontDoorStreamConnLimit holds an address's every stream slot: its next
// stream is refused the no-dead-end way, another address still connects, and
// once a slot frees the first address connects again.
func TestFrontDoorStreamConnLimit(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), StreamConnLimit: 2})
	url := s.BaseURL + "/stream?channel=chat.limit"
	ctx := context.Background()
	a := fromIP("127.0.0.6")
	var held []*ssetest.Stream
	for range 2 {
		st, err := ssetest.Open(ctx, a, url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		waitConnected(t, st)
		held = append(held, st)
	}
	assertRefusedStream(t, a, url)

	b, err := ssetest.Open(ctx, fromIP("127.0.0.7"), url, "")
	if err != nil {
		t.Fatalf("a second address is refused: %v", err)
	}
	defer b.Close()
	waitConnected(t, b)

	held[0].Close()
	// nginx frees the slot when it sees the close; poll until it has.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := ssetest.Open(ctx, a, url, "")
		if err != nil {
			t.Fatal(err)
		}
		ev, err := st.Next()
		st.Close()
		if err == nil && ev.Type == "herald.connected" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot for the first address 10s after it closed a stream (last: %+v, %v)", ev, err)
		}
	}
}

func waitConnected(t *testing.T, st *ssetest.Stream) {
	t.Helper()
	ev, err := st.Next()
	if err != nil || ev.Type != "herald.connected" {
		t.Fatalf("first event %+v (%v), want herald.connected", ev, err)
	}
}

// TestFrontDoorAccessLogHasNoToken sends tokens in the stream's query the
// ways a client (or an attacker probing the log) could, with replicas up and
// down (nginx's error messages quote the request line), and finds none of
// them in any log nginx wrote, while the requests themselves are logged.
func TestFrontDoorAccessLogHasNoToken(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t)})
	const secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.SECRETSIG"
	queries := []string{
		"channel=chat.lobby&access_token=" + secret,
		"access_token=" + secret + "&channel=chat.lobby",
		"channel=chat.lobby&acc%65ss_token=" + secret,
		"channel=chat.lobby&ACCESS_TOKEN=" + secret,
	}
	get := func(q string) {
		resp, err := fromIP("127.0.0.8").Get(s.BaseURL + "/stream?" + q)
		if err != nil {
			t.Fatal(err)
		}
		// Read a little (a live stream would never end), then hang up.
		buf := make([]byte, 64)
		_, _ = resp.Body.Read(buf)
		resp.Body.Close()
	}
	for _, q := range queries {
		get(q)
	}
	for i := range s.StreamURLs {
		if err := s.KillStream(i); err != nil && !isKilled(err) {
			t.Fatal(err)
		}
	}
	for _, q := range queries {
		get(q)
	}
	// A plain stream request is logged with its query.
	get("channel=chat.visible")

	// nginx writes the access log line when the request ends; poll for the last.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(s.AccessLogPath())
		if strings.Contains(string(b), "/stream?channel=chat.visible") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the access log never showed the last request:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	access, _ := os.ReadFile(s.AccessLogPath())
	if n := strings.Count(string(access), `/stream?[redacted]`); n != 2*len(queries) {
		t.Errorf("%d redacted stream lines, want %d:\n%s", n, 2*len(queries), access)
	}
	for _, f := range s.LogFiles() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "SECRETSIG") {
			t.Errorf("%s holds the token:\n%s", f, b)
		}
	}
}
