package launcher_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/launcher"
)

// TestStackUnixUpstreams: with UnixUpstreams, nginx reaches the replicas
// over their http.unix_socket: a stream through nginx gets its events while
// no TCP connection to a replica exists.
func TestStackUnixUpstreams(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{UnixUpstreams: true})
	if len(s.StreamSockets) != 2 {
		t.Fatalf("StreamSockets = %q", s.StreamSockets)
	}
	for _, p := range s.StreamSockets {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL+"/stream?channel=chat.unix", nil)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != 200 {
		t.Fatalf("GET /stream = %d", stream.StatusCode)
	}
	lines := bufio.NewScanner(stream.Body)
	waitLine := func(prefix string) {
		t.Helper()
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				return
			}
		}
		t.Fatalf("stream ended before a line starting %q: %v", prefix, lines.Err())
	}
	waitLine("event: herald.connected")
	for i := range s.StreamURLs {
		if n, err := s.StreamConnections(i); err != nil || n != 0 {
			t.Errorf("replica %d: %d TCP connections (%v), want 0: nginx should use the socket", i, n, err)
		}
	}
	post, err := http.Post(s.BaseURL+"/api/v1/channels/chat.unix/events", "application/json", strings.NewReader(`{"data":{"n":7}}`))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d", post.StatusCode)
	}
	waitLine(`data: {"channel":"chat.unix"`)
}
