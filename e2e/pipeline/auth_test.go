package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	apiconfig "github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/auth/authtest"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// authOnly configures a service the way production does: tokens signed
// with the secret, no anonymous rights.
func authOnly(c *auth.Config) {
	*c = auth.Default()
	c.HMACSecret = authtest.Secret
}

func call(t *testing.T, method, u, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func openWith(t *testing.T, streamURL, tok, lastID string, channels ...string) (*ssetest.Stream, string) {
	t.Helper()
	q := url.Values{"channel": channels, "access_token": {tok}}
	s, err := ssetest.Open(context.Background(), http.DefaultClient, streamURL+"/stream?"+q.Encode(), lastID)
	if err != nil {
		t.Fatalf("opening stream: %v", err)
	}
	t.Cleanup(s.Close)
	ev, err := s.Next()
	if err != nil || ev.Type != "herald.connected" {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	var c struct {
		ID string `json:"connection_id"`
	}
	_ = json.Unmarshal([]byte(ev.Data), &c)
	return s, c.ID
}

// TestControlAcrossServices: through the real api and the real stream
// registry, another principal cannot see or move a stream, and its owner
// cannot widen it beyond its token's grants.
func TestControlAcrossServices(t *testing.T) {
	n := startNATS(t)
	api := startAPIWith(t, n.URL(), func(c *apiconfig.Config) { authOnly(&c.Auth); c.ControlTimeout = 300 * time.Millisecond })
	stream := startStream(t, n.URL(), "127.0.0.1:0", func(c *streamconfig.Config) { authOnly(&c.Auth) })
	alice := authtest.Token(t, "alice", []string{"chat.*"}, []string{"chat.*"})
	bob := authtest.Token(t, "bob", []string{"chat.*"}, []string{"chat.*"})
	s, id := openWith(t, stream.url, alice, "", "chat.lobby")
	ctl := api.url + "/api/v1/connections/" + id + "/channels"

	bobStatus, bobBody := call(t, "PUT", ctl, bob, `{"channels":["chat.x"]}`)
	unkStatus, unkBody := call(t, "PUT", api.url+"/api/v1/connections/AAAAAAAAAAAAAAAAAAAAAA/channels", bob, `{"channels":["chat.x"]}`)
	if bobStatus != 404 || bobStatus != unkStatus || bobBody != unkBody {
		t.Errorf("bob on alice's stream: %d %s; unknown id: %d %s", bobStatus, bobBody, unkStatus, unkBody)
	}
	if st, body := call(t, "PUT", ctl, alice, `{"channels":["admin"]}`); st != 403 || !strings.Contains(body, `"reason":"forbidden"`) {
		t.Errorf("alice widening to admin: %d %s", st, body)
	}
	if st, body := call(t, "PUT", ctl, alice, `{"channels":["chat.x"]}`); st != 200 {
		t.Fatalf("alice within her grant: %d %s", st, body)
	}
	if ev, err := s.Next(); err != nil || ev.Type != "herald.subscribed" {
		t.Fatalf("after the change: %+v %v", ev, err)
	}
	if st, body := call(t, "POST", api.url+"/api/v1/channels/chat.x/events", alice, `{"data":"moved"}`); st != 201 {
		t.Fatalf("publish: %d %s", st, body)
	}
	if ev, err := s.Next(); err != nil || !strings.Contains(ev.Data, `"moved"`) {
		t.Fatalf("event on the new channel: %+v %v", ev, err)
	}
}

// TestTokenRenewalLosesNothing: a stream ends at its token's exp with
// herald.expired; the client reconnects with a fresh token and its last
// id and receives what was published meanwhile, exactly once.
func TestTokenRenewalLosesNothing(t *testing.T) {
	n := startNATS(t)
	api := startAPIWith(t, n.URL(), func(c *apiconfig.Config) { authOnly(&c.Auth) })
	stream := startStream(t, n.URL(), "127.0.0.1:0", func(c *streamconfig.Config) { authOnly(&c.Auth) })
	pub := authtest.Token(t, "backend", []string{"news"}, nil)
	short := authtest.Claims("reader", nil, []string{"news"}, 0)
	short["exp"] = time.Now().Add(2 * time.Second).Unix()
	s, _ := openWith(t, stream.url, authtest.HS256(t, short), "", "news")

	if st, body := call(t, "POST", api.url+"/api/v1/channels/news/events", pub, `{"data":1}`); st != 201 {
		t.Fatalf("publish 1: %d %s", st, body)
	}
	if ev, err := s.Next(); err != nil || ev.ID != "1" {
		t.Fatalf("event 1: %+v %v", ev, err)
	}
	ev, err := s.Next()
	if err != nil || ev.Type != "herald.expired" || ev.HasID || ev.Data != `{"reason":"expired"}` {
		t.Fatalf("want herald.expired, got %+v %v", ev, err)
	}
	if _, err := s.Next(); err == nil {
		t.Fatalf("stream did not close after herald.expired")
	}
	// Published while the client renews its token.
	if st, body := call(t, "POST", api.url+"/api/v1/channels/news/events", pub, `{"data":2}`); st != 201 {
		t.Fatalf("publish 2: %d %s", st, body)
	}
	s2, _ := openWith(t, stream.url, authtest.Token(t, "reader", nil, []string{"news"}), s.LastEventID(), "news")
	if ev, err := s2.Next(); err != nil || ev.ID != "2" {
		t.Fatalf("after renewal: %+v %v; want event 2 exactly", ev, err)
	}
}
