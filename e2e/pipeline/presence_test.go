package pipeline

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	apiconfig "github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/auth/authtest"
	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	streamapp "github.com/herald-push/herald/services/stream/app"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// startReplica is startStream returning the app too, for StopPresence.
func startReplica(t *testing.T, natsURL string) (*service, *streamapp.App) {
	t.Helper()
	cfg := streamconfig.Default()
	cfg.NATS.URL = natsURL
	cfg.ShutdownGrace = 5 * time.Second
	authOnly(&cfg.Auth)
	cfg.Auth.AnonymousSubscribe = []string{"chat.*"}
	a, err := streamapp.New(cfg, quiet())
	if err != nil {
		t.Fatalf("starting stream: %v", err)
	}
	s := serve(t, listen(t, "127.0.0.1:0"), a.Run)
	waitReady(t, s.url)
	return s, a
}

type presenceAnswer struct {
	Pattern             string            `json:"pattern"`
	Connections         uint64            `json:"connections"`
	Channels            map[string]uint64 `json:"channels"`
	Principals          []string          `json:"principals"`
	PrincipalsTruncated bool              `json:"principals_truncated"`
	Replicas            int               `json:"replicas"`
	Partial             bool              `json:"partial"`
}

func askPresence(t *testing.T, apiURL, tok, pattern string) (int, presenceAnswer) {
	t.Helper()
	st, body := call(t, "GET", apiURL+"/api/v1/channels/"+pattern+"/presence", tok, "")
	var a presenceAnswer
	if st == 200 {
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("presence body %s: %v", body, err)
		}
	}
	return st, a
}

// TestPresence: connections spread over two real stream replicas are
// counted exactly through the real api (per matching subscription, each
// connection once, distinct principals, anonymous ones unnamed); the
// caller needs a covering subscribe grant; a replica that stops answering
// while still announcing itself makes the answer partial, and it still
// comes back (after api.presence_timeout) with the other replica's sum.
func TestPresence(t *testing.T) {
	n := startNATS(t)
	// A generous deadline: a complete answer returns as soon as both
	// replicas replied; only the partial one waits it out, and replica a
	// must make it even on a loaded machine.
	api := startAPIWith(t, n.URL(), func(c *apiconfig.Config) { authOnly(&c.Auth); c.PresenceTimeout = 2 * time.Second })
	capped := startAPIWith(t, n.URL(), func(c *apiconfig.Config) {
		authOnly(&c.Auth)
		c.PresencePrincipalsMax = 1
		c.PresenceTimeout = 2 * time.Second
	})
	a, _ := startReplica(t, n.URL())
	b, bApp := startReplica(t, n.URL())

	tok := func(sub string, subscribe ...string) string { return authtest.Token(t, sub, nil, subscribe) }
	openWith(t, a.url, tok("alice", "chat.*"), "", "chat.lobby")
	openWith(t, a.url, tok("bob", "chat.*", "news"), "", "chat.*", "news")
	openWith(t, b.url, tok("alice", "chat.*"), "", "chat.lobby")
	anon, err := ssetest.Open(context.Background(), http.DefaultClient, b.url+"/stream?channel=chat.lobby", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(anon.Close)
	if ev, err := anon.Next(); err != nil || ev.Type != "herald.connected" {
		t.Fatalf("anonymous stream: %+v %v", ev, err)
	}
	openWith(t, b.url, tok("carol", ">"), "", "news")
	openWith(t, b.url, tok("dave", ">"), "", ">")
	openWith(t, a.url, tok("erin", ">"), "", "*.lobby") // overlaps chat.lobby's pattern only partly

	admin := tok("admin", ">")
	want := presenceAnswer{
		Pattern: "chat.*", Connections: 5,
		Channels:   map[string]uint64{"chat.lobby": 3, "chat.*": 1, ">": 1},
		Principals: []string{"alice", "bob", "dave"}, Replicas: 2,
	}
	var got presenceAnswer
	testkit.Eventually(t, 20*time.Second, func() bool {
		var st int
		st, got = askPresence(t, api.url, admin, "chat.*")
		return st == 200 && reflect.DeepEqual(got, want)
	}, "presence of chat.* to count both replicas")

	// A name: subscriptions covering it count, and so does *.lobby now.
	_, lobby := askPresence(t, api.url, admin, "chat.lobby")
	if lobby.Connections != 6 || lobby.Channels["*.lobby"] != 1 || lobby.Channels["chat.*"] != 1 || lobby.Partial {
		t.Errorf("presence of chat.lobby: %+v", lobby)
	}
	// Principals are capped.
	_, c := askPresence(t, capped.url, admin, "chat.*")
	if !reflect.DeepEqual(c.Principals, []string{"alice"}) || !c.PrincipalsTruncated || c.Connections != 5 {
		t.Errorf("capped principals: %+v", c)
	}
	// Rights: presence needs a covering subscribe grant.
	if st, _ := askPresence(t, api.url, tok("zed", "chat.*"), "%3E"); st != 403 {
		t.Errorf("uncovered pattern: %d, want 403", st)
	}
	if st, _ := askPresence(t, api.url, "", "chat.*"); st != 401 {
		t.Errorf("no token, api without anonymous rights: %d, want 401", st)
	}

	// Replica b is up (it announces itself) but stops answering.
	if err := bApp.StopPresence(); err != nil {
		t.Fatal(err)
	}
	st, p := askPresence(t, api.url, admin, "chat.*")
	wantPartial := presenceAnswer{
		Pattern: "chat.*", Connections: 2,
		Channels:   map[string]uint64{"chat.lobby": 1, "chat.*": 1},
		Principals: []string{"alice", "bob"}, Replicas: 1, Partial: true,
	}
	if st != 200 || !reflect.DeepEqual(p, wantPartial) {
		t.Errorf("with replica b silent: %d %+v\nwant %+v", st, p, wantPartial)
	}
}
