package pipeline

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// open subscribes to channels on a stream instance and reads the opening frames.
func open(t *testing.T, streamURL string, channels ...string) *ssetest.Stream {
	t.Helper()
	q := url.Values{"channel": channels}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := ssetest.Open(ctx, http.DefaultClient, streamURL+"/stream?"+q.Encode(), "")
	if err != nil {
		t.Fatalf("opening stream: %v", err)
	}
	t.Cleanup(s.Close)
	ev, err := s.Next()
	if err != nil || ev.Type != "herald.connected" || ev.HasID {
		t.Fatalf("first event = %+v, %v; want herald.connected without id", ev, err)
	}
	return s
}

// TestPublishToBrowser follows one event through the whole path: POST to the
// api, JetStream, the stream service's consumer and hub, an SSE client.
func TestPublishToBrowser(t *testing.T) {
	n := startNATS(t)
	api := startAPI(t, n.URL())
	stream := startStream(t, n.URL(), "127.0.0.1:0", nil)

	s := open(t, stream.url, "news")
	if ct := s.Resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	p, err := publish(http.DefaultClient, api.url, "news", "headline", map[string]any{"title": "SSE is enough", "n": 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != p.ID || !ev.HasID || ev.Type != "headline" {
		t.Fatalf("event = %+v, want id %s type headline", ev, p.ID)
	}
	var env envelope
	if err := json.Unmarshal([]byte(ev.Data), &env); err != nil {
		t.Fatalf("data %q: %v", ev.Data, err)
	}
	if env.Channel != "news" || env.Type != "headline" || string(env.Data) != `{"n":1,"title":"SSE is enough"}` || env.Time != p.Time {
		t.Fatalf("envelope = %+v (published %+v)", env, p)
	}
}

// TestChannelsAndWildcards publishes to many channels and checks that each
// subscriber receives exactly the events NATS subject matching selects, in
// publish order, and that a plain-text body arrives as a JSON string.
func TestChannelsAndWildcards(t *testing.T) {
	n := startNATS(t)
	api := startAPI(t, n.URL())
	stream := startStream(t, n.URL(), "127.0.0.1:0", nil)

	subs := map[string][]string{
		"exact":    {"chat.lobby"},
		"star":     {"chat.*"},
		"gt":       {"sports.>"},
		"mixed":    {"news", "sports.*"},
		"star-mid": {"*.lobby"},
	}
	streams := map[string]*ssetest.Stream{}
	for name, chans := range subs {
		streams[name] = open(t, stream.url, chans...)
	}
	channels := []string{"chat.lobby", "chat.dev", "chat.dev.bugs", "sports", "sports.f1", "sports.f1.race", "news", "news.lobby", "lobby"}
	var ids []string
	for i, ch := range channels {
		p, err := publish(http.DefaultClient, api.url, ch, "message", i, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	// A final marker on a channel everyone hears tells each reader it has seen all.
	want := map[string][]string{
		"exact":    {"chat.lobby"},
		"star":     {"chat.lobby", "chat.dev"},
		"gt":       {"sports.f1", "sports.f1.race"},
		"mixed":    {"sports.f1", "news"},
		"star-mid": {"chat.lobby", "news.lobby"},
	}
	for name, s := range streams {
		t.Run(name, func(t *testing.T) {
			for i, ch := range want[name] {
				ev, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				var env envelope
				if err := json.Unmarshal([]byte(ev.Data), &env); err != nil {
					t.Fatal(err)
				}
				if env.Channel != ch || ev.ID != ids[indexOf(channels, ch)] {
					t.Fatalf("event %d = %s on %s, want id %s on %s", i, ev.ID, env.Channel, ids[indexOf(channels, ch)], ch)
				}
			}
		})
	}

	// text/plain: the data is that string, multi-line safe.
	s := open(t, stream.url, "notes")
	resp, err := http.Post(api.url+"/api/v1/channels/notes/events", "text/plain", strings.NewReader("line one\nline two\r\nevent: forged"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("text/plain publish status %d", resp.StatusCode)
	}
	ev, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := json.Unmarshal([]byte(ev.Data), &env); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "message" || string(env.Data) != `"line one\nline two\r\nevent: forged"` {
		t.Fatalf("text event = %+v data %s", ev, env.Data)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestIdempotentRetry: a retried publish with the same Idempotency-Key gets
// the first id and the subscriber sees the event once.
func TestIdempotentRetry(t *testing.T) {
	n := startNATS(t)
	api := startAPI(t, n.URL())
	stream := startStream(t, n.URL(), "127.0.0.1:0", nil)
	s := open(t, stream.url, "orders")

	first, err := publish(http.DefaultClient, api.url, "orders", "created", 1, "order-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := publish(http.DefaultClient, api.url, "orders", "created", 1, "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Fatalf("retry id %s, first %s", again.ID, first.ID)
	}
	marker, err := publish(http.DefaultClient, api.url, "orders", "marker", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{first.ID, marker.ID} {
		ev, err := s.Next()
		if err != nil || ev.ID != want {
			t.Fatalf("event = %+v, %v; want id %s", ev, err, want)
		}
	}
}

// TestShutdownTellsClientsToRetry: stopping a stream instance (its SIGTERM
// path) sends a retry frame and closes the stream.
func TestShutdownTellsClientsToRetry(t *testing.T) {
	n := startNATS(t)
	startAPI(t, n.URL()) // creates the event stream the stream service waits for
	stream := startStream(t, n.URL(), "127.0.0.1:0", func(c *streamconfig.Config) { c.Retry = 3 * time.Second })
	s := open(t, stream.url, "news")
	if s.Retry() != 3000 {
		t.Fatalf("opening retry = %d", s.Retry())
	}
	stream.stop(t)
	for {
		_, err := s.Next()
		if err != nil {
			break // the server closed the stream
		}
	}
	if s.Retries != 2 || s.Retry() < 1500 || s.Retry() > 4500 {
		t.Fatalf("after shutdown: %d retry fields, last %d ms; want a second, jittered within ±50%% of 3000", s.Retries, s.Retry())
	}
}
