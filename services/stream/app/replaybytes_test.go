package app_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go/jetstream"
)

// TestResumeFetchByBytes: a resume from JetStream pulls by bytes; events
// larger than one pull (sse.replay_fetch_bytes) still come, one by one,
// in order, mixed with small ones that share a pull.
func TestResumeFetchByBytes(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	var want []streamtest.Item
	for i := range 30 {
		data := strconv.Itoa(i)
		if i%3 == 0 {
			data = `"` + strings.Repeat("x", 20<<10) + `"` // 20 KiB > the 4 KiB pull
		}
		want = append(want, ev(streamtest.Publish(t, e.js, "news", "", data), "news", "", data))
	}
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.RingSize = 0; c.ReplayFetchBytes = 4 << 10 })
	c := streamtest.Dial(t, a.streamURL("news"), http.Header{"Last-Event-Id": {"0"}})
	if it, _ := c.Next(5 * time.Second); it.Type != "herald.connected" {
		t.Fatalf("first: %+v", it)
	}
	expectEvents(t, c, want)
}
