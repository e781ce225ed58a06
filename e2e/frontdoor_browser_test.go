package e2e_test

// Browser tests of the front door: headless Chromium loads a probe page
// (testdata/frontdoor) and talks to the stack only through nginx, with fetch
// and the browser's own EventSource.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/launcher"
)

// probeState mirrors window.probe.state().
type probeState struct {
	Opens      int               `json:"opens"`
	Errors     int               `json:"errors"`
	ReadyState int               `json:"readyState"`
	Connected  []json.RawMessage `json:"connected"`
	Events     []struct {
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
		At   float64         `json:"at"`
	} `json:"events"`
}

// published mirrors what window.probe.publish resolves to.
type published struct {
	Status int     `json:"status"`
	ID     string  `json:"id"`
	At     float64 `json:"at"`
	Error  string  `json:"error"`
}

const describe = `probe.state()`

// frontDoorGrant lets anonymous clients use the front-door tests' channels
// (auth fails closed; the dev defaults grant only the demo's).
var frontDoorGrant = launcher.Anonymous("fd.>", "hdr", "dead", "x")

func probeRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("testdata", "frontdoor"))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// openProbe loads the probe page at pageURL and subscribes it to channel on
// the stack's origin, waiting for herald.connected.
func openProbe(t *testing.T, s *launcher.Stack, pageURL, channel string, credentials bool) browserTab {
	t.Helper()
	tab := browserTab{t: t, ctx: browser.New(t)}
	browser.Navigate(t, tab.ctx, pageURL)
	tab.eval(fmt.Sprintf(`probe.open(%q, %q, %t)`, s.BaseURL, channel, credentials))
	return tab
}

func TestFrontDoorPublishAndReceive(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), Env: frontDoorGrant})
	tab := openProbe(t, s, s.BaseURL+"/", "fd.basic", false)
	tab.waitFor(`probe.connected.length === 1`)

	p := tab.publish("fd.basic", `{"hello":"world"}`)
	if p.Status != http.StatusCreated || p.ID == "" {
		t.Fatalf("publish through nginx = %+v, want 201 with an id", p)
	}
	tab.waitFor(`probe.events.length === 1`)
	st := tab.state()
	if got := st.Events[0]; got.ID != p.ID || string(got.Data) != `{"hello":"world"}` {
		t.Fatalf("received %s %s, want id %s data {\"hello\":\"world\"}", got.ID, got.Data, p.ID)
	}
}

// TestFrontDoorEventsArriveOneByOne proves nothing between the replica and the
// browser buffers: the page publishes the next event only after the previous
// one arrived (200 ms apart), which could not happen if nginx held events back
// until a buffer filled. Each arrival therefore lies between its own publish
// and the next one.
func TestFrontDoorEventsArriveOneByOne(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), Env: frontDoorGrant})
	tab := openProbe(t, s, s.BaseURL+"/", "fd.paced", false)
	tab.waitFor(`probe.connected.length === 1`)

	const n = 6
	var pubs []published
	tab.evalInto(fmt.Sprintf(`probe.paced("fd.paced", %d, 200)`, n), &pubs)
	st := tab.state()
	if len(pubs) != n || len(st.Events) != n {
		t.Fatalf("published %d, received %d; want %d each", len(pubs), len(st.Events), n)
	}
	for k := range n {
		ev := st.Events[k]
		if pubs[k].Status != http.StatusCreated || ev.ID != pubs[k].ID || string(ev.Data) != fmt.Sprintf(`{"k":%d}`, k) {
			t.Fatalf("event %d: published %+v, received %s %s", k, pubs[k], ev.ID, ev.Data)
		}
		if ev.At < pubs[k].At {
			t.Errorf("event %d arrived (%.1f ms) before it was published (%.1f ms)", k, ev.At, pubs[k].At)
		}
		if k+1 < n && ev.At >= pubs[k+1].At {
			t.Errorf("event %d arrived (%.1f ms) after event %d was published (%.1f ms): events were held back", k, ev.At, k+1, pubs[k+1].At)
		}
	}
	t.Logf("arrival after publish (ms): %v", arrivalLags(pubs, st))
}

func arrivalLags(pubs []published, st probeState) []string {
	var lags []string
	for k := range pubs {
		lags = append(lags, fmt.Sprintf("%.1f", st.Events[k].At-pubs[k].At))
	}
	return lags
}

// TestFrontDoorHeartbeatOutlivesReadTimeout shortens nginx's
// proxy_read_timeout to 2s: a stream quiet for 5s survives only because the
// replica's heartbeat comments (every 500ms) count as reads, so the
// EventSource never reconnects. The control case, with a heartbeat longer than
// the timeout, shows nginx does cut it (and the page still gets the event
// after its reconnect).
func TestFrontDoorHeartbeatOutlivesReadTimeout(t *testing.T) {
	tests := []struct {
		name      string
		heartbeat time.Duration
		reconnect bool
	}{
		{"heartbeat keeps the stream", 500 * time.Millisecond, false},
		{"control: no heartbeat within the timeout", time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := launcher.StartTB(t, launcher.Options{
				HTMLRoot:         probeRoot(t),
				Env:              frontDoorGrant,
				NginxReadTimeout: 2 * time.Second,
				Heartbeat:        tt.heartbeat,
				StreamEnv:        []string{"HERALD_SSE_RETRY=100ms"},
			})
			tab := openProbe(t, s, s.BaseURL+"/", "fd.quiet", false)
			tab.waitFor(`probe.connected.length === 1`)
			tab.publish("fd.quiet", `1`)
			tab.waitFor(`probe.events.length === 1`)

			if tt.reconnect {
				// nginx cuts the quiet stream after 2s; EventSource comes back.
				tab.waitFor(`probe.opens >= 2`)
			} else {
				// The scenario itself is a quiet period longer than the read
				// timeout, so this waits for time to pass, not for a condition.
				time.Sleep(5 * time.Second)
			}

			tab.publish("fd.quiet", `2`)
			tab.waitFor(`probe.events.length === 2`)
			st := tab.state()
			if reconnected := st.Opens > 1; reconnected != tt.reconnect {
				t.Fatalf("%d opens, %d errors, %d herald.connected; want a reconnect: %t",
					st.Opens, st.Errors, len(st.Connected), tt.reconnect)
			}
		})
	}
}

// TestFrontDoorCORS serves the probe page from two other loopback origins:
// the allowed one can POST and subscribe with credentials; the other is
// stopped by the browser, and its POST never reaches the api (the preflight
// fails), which the allowed page confirms by seeing only its own event.
func TestFrontDoorCORS(t *testing.T) {
	pages := http.FileServer(http.Dir(probeRoot(t)))
	allowed := httptest.NewServer(pages)
	t.Cleanup(allowed.Close)
	denied := httptest.NewServer(pages)
	t.Cleanup(denied.Close)
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), Env: frontDoorGrant, CORSOrigins: []string{"http://cors.invalid", allowed.URL}})

	ok := openProbe(t, s, allowed.URL+"/", "fd.cors", true)
	ok.waitFor(`probe.connected.length === 1`)

	bad := openProbe(t, s, denied.URL+"/", "fd.cors", true)
	bad.waitFor(`probe.es.readyState === EventSource.CLOSED`)
	if p := bad.publish("fd.cors", `"denied"`); p.Status != 0 || !strings.Contains(p.Error, "TypeError") {
		t.Fatalf("publish from a non-allowed origin = %+v, want a fetch TypeError", p)
	}
	if st := bad.state(); st.Opens != 0 || len(st.Connected) != 0 || len(st.Events) != 0 {
		t.Fatalf("non-allowed origin's stream: %+v, want never opened", st)
	}

	if p := ok.publish("fd.cors", `"allowed"`); p.Status != http.StatusCreated {
		t.Fatalf("publish from the allowed origin = %+v, want 201", p)
	}
	ok.waitFor(`probe.events.length >= 1`)
	st := ok.state()
	if len(st.Events) != 1 || string(st.Events[0].Data) != `"allowed"` {
		t.Fatalf("allowed origin received %+v, want only its own event", st.Events)
	}
}

// TestFrontDoorReplicaKilled SIGKILLs the replica holding the page's stream.
// EventSource reconnects through nginx (which skips the dead replica) with
// Last-Event-ID, and the page ends with every event exactly once, in order:
// those before the kill, those published while it was away, and live ones.
func TestFrontDoorReplicaKilled(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{
		HTMLRoot:  probeRoot(t),
		Env:       frontDoorGrant,
		StreamEnv: []string{"HERALD_SSE_RETRY=100ms"},
	})
	tab := openProbe(t, s, s.BaseURL+"/", "fd.kill", false)
	tab.waitFor(`probe.connected.length === 1`)
	n := 0
	publish := func(count int) {
		for range count {
			n++
			if p := tab.publish("fd.kill", fmt.Sprint(n)); p.Status != http.StatusCreated {
				t.Fatalf("publish %d = %+v", n, p)
			}
		}
	}
	publish(3)
	tab.waitFor(`probe.events.length === 3`)

	holder := holdingReplica(t, s)
	if err := s.KillStream(holder); err != nil {
		t.Fatal(err)
	}
	tab.waitFor(`probe.errors >= 1`)
	publish(3) // while the page is away or reconnecting
	tab.waitFor(`probe.opens >= 2 && probe.connected.length >= 2`)
	publish(2)
	tab.waitFor(fmt.Sprintf(`probe.events.length >= %d`, n))

	st := tab.state()
	var got []string
	for _, ev := range st.Events {
		got = append(got, string(ev.Data))
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprint(i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("received %v, want %v exactly once each", got, want)
	}
	if other := 1 - holder; mustConns(t, s, other) != 1 {
		t.Errorf("replica %d holds %d connections after the reconnect, want 1", other, mustConns(t, s, other))
	}
}

// holdingReplica returns the replica holding the one open stream.
func holdingReplica(t *testing.T, s *launcher.Stack) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var holders []int
		for i := range s.StreamURLs {
			if mustConns(t, s, i) > 0 {
				holders = append(holders, i)
			}
		}
		if len(holders) == 1 {
			return holders[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no single replica holds the stream")
	return -1
}

func mustConns(t *testing.T, s *launcher.Stack, i int) int {
	t.Helper()
	n, err := s.StreamConnections(i)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
