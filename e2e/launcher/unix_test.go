package launcher_test

import (
	"os"
	"testing"

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
	waitLine := openStream(t, s.BaseURL+"/stream?channel=chat.unix")
	waitLine("event: herald.connected")
	for i := range s.StreamURLs {
		if n, err := s.StreamConnections(i); err != nil || n != 0 {
			t.Errorf("replica %d: %d TCP connections (%v), want 0: nginx should use the socket", i, n, err)
		}
	}
	publish(t, s.BaseURL+"/api/v1/channels/chat.unix/events", `{"data":{"n":7}}`)
	waitLine(`data: {"channel":"chat.unix"`)
}
