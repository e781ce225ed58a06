package e2e_test

// Chromium against the front door's newer parts: HTTPS with HTTP/2, and the
// no-dead-end answers, seen by a native EventSource (the probe page uses no
// herald.js).

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/internal/ssetest"
	"github.com/herald-push/herald/e2e/launcher"
)

// TestFrontDoorHTTP2 loads the probe page over HTTPS (the launcher's
// self-signed certificate): the page, its publish fetch and its stream go
// over h2, and the event published arrives.
func TestFrontDoorHTTP2(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t)})
	tab := browserTab{t: t, ctx: browser.New(t, browser.IgnoreCertErrors)}
	browser.Navigate(t, tab.ctx, s.TLSURL+"/")
	tab.eval(fmt.Sprintf(`probe.open(%q, "chat.h2", false)`, s.TLSURL))
	tab.waitFor(`probe.connected.length === 1`)
	p := tab.publish("chat.h2", `{"over":"h2"}`)
	if p.Status != http.StatusCreated {
		t.Fatalf("publish over HTTPS = %+v, want 201", p)
	}
	tab.waitFor(`probe.events.length === 1`)
	if st := tab.state(); string(st.Events[0].Data) != `{"over":"h2"}` || st.Events[0].ID != p.ID {
		t.Fatalf("received %+v, want the event published (%s)", st.Events[0], p.ID)
	}
	var protocols map[string]string
	tab.evalInto(`(() => {
		const out = {page: performance.getEntriesByType('navigation')[0].nextHopProtocol};
		for (const e of performance.getEntriesByType('resource')) {
			if (e.name.includes('/api/')) out.publish = e.nextHopProtocol;
		}
		return out;
	})()`, &protocols)
	if protocols["page"] != "h2" || protocols["publish"] != "h2" {
		t.Fatalf("nextHopProtocol %v, want h2 for the page and the publish", protocols)
	}
}

// TestFrontDoorNoDeadEnd kills every replica under an open native
// EventSource: nginx answers its reconnects with 200 + retry:, so it keeps
// trying (several opens, never CLOSED), and once a replica is back it
// connects and receives the next event.
func TestFrontDoorNoDeadEnd(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), StreamEnv: []string{"HERALD_SSE_RETRY=100ms"}})
	tab := openProbe(t, s, s.BaseURL+"/", "chat.outage", false)
	tab.waitFor(`probe.connected.length === 1`)
	for i := range s.StreamURLs {
		if err := s.KillStream(i); err != nil && !isKilled(err) {
			t.Fatal(err)
		}
	}
	// Each refused reconnect is an open (200 event-stream) then an error.
	tab.waitFor(`probe.opens >= 3 && probe.es.readyState !== EventSource.CLOSED`)
	if err := s.StartStream(0); err != nil {
		t.Fatal(err)
	}
	tab.waitFor(`probe.connected.length === 2`)
	p := tab.publish("chat.outage", `"back"`)
	if p.Status != http.StatusCreated {
		t.Fatalf("publish after the outage = %+v", p)
	}
	tab.waitFor(`probe.events.length === 1`)
	if st := tab.state(); string(st.Events[0].Data) != `"back"` {
		t.Fatalf("received %+v, want the event published after the outage", st.Events)
	}
}

// TestFrontDoorStreamLimitBrowser fills this machine's address's stream
// slots (the browser connects from 127.0.0.1 too): a native EventSource is
// refused, keeps retrying, and connects once a slot frees.
func TestFrontDoorStreamLimitBrowser(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), StreamConnLimit: 2})
	url := s.BaseURL + "/stream?channel=chat.slots"
	var held []*ssetest.Stream
	for range 2 {
		st, err := ssetest.Open(t.Context(), fromIP("127.0.0.1"), url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		waitConnected(t, st)
		held = append(held, st)
	}
	// The page itself comes from the same address; its GET is not a stream.
	tab := openProbe(t, s, s.BaseURL+"/", "chat.slots", false)
	tab.waitFor(`probe.opens >= 2 && probe.connected.length === 0 && probe.es.readyState !== EventSource.CLOSED`)
	held[0].Close()
	tab.waitFor(`probe.connected.length === 1`)
	if p := tab.publish("chat.slots", `1`); p.Status != http.StatusCreated {
		t.Fatalf("publish = %+v", p)
	}
	tab.waitFor(`probe.events.length === 1`)
}

// isKilled tells a SIGKILLed replica's exit status (what KillStream reports)
// from a real failure.
func isKilled(err error) bool { return strings.Contains(err.Error(), "signal: killed") }
