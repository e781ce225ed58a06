package e2e_test

// herald.js against real failures: the stream replica holding the page's
// EventSource is SIGKILLed, and the page must still see every event exactly
// once — also after a channel change, when the browser's own reconnect URL
// is stale and herald.js has to reconnect by itself.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/launcher"
)

// killEachReplica SIGKILLs every replica in turn, publishing to channel while
// it is down, and restarts it before the next, so whichever replica held the
// page's stream, the stream is cut at least once. It returns the ids published.
func killEachReplica(t *testing.T, s *launcher.Stack, channel string, n *int, also func()) []string {
	t.Helper()
	var ids []string
	for i := range len(s.StreamURLs) {
		if err := s.KillStream(i); err != nil {
			t.Fatalf("killing replica %d: %v", i, err)
		}
		for range 3 {
			*n++
			ids = append(ids, publishHTTP(t, s, channel, "rec", map[string]int{"n": *n}))
		}
		if also != nil {
			also()
		}
		if err := s.StartStream(i); err != nil {
			t.Fatalf("restarting replica %d: %v", i, err)
		}
	}
	return ids
}

// finish publishes a last event and waits for it: the stream is ordered, so
// once it arrived any duplicate or stray event would have arrived before it.
func finish(t *testing.T, s *launcher.Stack, ctx context.Context, channel string, n *int, want []string) []string {
	t.Helper()
	*n++
	want = append(want, publishHTTP(t, s, channel, "rec", map[string]int{"n": *n}))
	browser.WaitFor(t, ctx, fmt.Sprintf(`got.includes(%q)`, want[len(want)-1]), clientState, demoWait)
	got := browser.Eval[[]string](t, ctx, `got`)
	if !slices.Equal(got, want) {
		t.Fatalf("received %v\nwant exactly %v", got, want)
	}
	return want
}

func TestDemoHeraldRecoversFromKilledReplica(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{Env: demoEnv})
	ctx := clientPage(t, s, "demo.rec")

	n := 0
	var want []string
	for range 3 {
		n++
		want = append(want, publishHTTP(t, s, "demo.rec", "rec", map[string]int{"n": n}))
	}
	browser.WaitFor(t, ctx, gotExactly(want), clientState, demoWait)

	want = append(want, killEachReplica(t, s, "demo.rec", &n, nil)...)
	finish(t, s, ctx, "demo.rec", &n, want)

	if c := browser.Eval[int](t, ctx, `connects.length`); c < 2 {
		t.Fatalf("herald.connected %d times, want a reconnect after the kill", c)
	}
	if st := browser.Eval[string](t, ctx, `h.state`); st != "open" {
		t.Fatalf("state %q after recovery, want open", st)
	}
}

// TestDemoHeraldResumesAfterSwitchAndDrop changes the channels over the
// control API, then cuts the stream. The EventSource's own URL still names
// the old channel; herald.js must reconnect with the new one and the last id,
// so the new channel's events published during the outage are replayed, once,
// and the old channel's are not.
func TestDemoHeraldResumesAfterSwitchAndDrop(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{Env: demoEnv})
	ctx := clientPage(t, s, "demo.sw.a")

	n := 0
	n++
	want := []string{publishHTTP(t, s, "demo.sw.a", "rec", map[string]int{"n": n})}
	browser.WaitFor(t, ctx, gotExactly(want), clientState, demoWait)
	connID := browser.Eval[string](t, ctx, `h.connectionId`)

	applied := browser.Eval[[]string](t, ctx, `h.setChannels(['demo.sw.b'])`)
	if !slices.Equal(applied, []string{"demo.sw.b"}) {
		t.Fatalf("setChannels applied %v, want [demo.sw.b]", applied)
	}
	if got := browser.Eval[string](t, ctx, `h.connectionId`); got != connID {
		t.Fatalf("connection id changed from %s to %s: the switch reconnected", connID, got)
	}
	n++
	want = append(want, publishHTTP(t, s, "demo.sw.b", "rec", map[string]int{"n": n}))
	browser.WaitFor(t, ctx, gotExactly(want), clientState, demoWait)

	// subscribe and unsubscribe change the set in place too.
	browser.Eval[[]string](t, ctx, `h.subscribe('demo.sw.c')`)
	n++
	want = append(want, publishHTTP(t, s, "demo.sw.c", "rec", map[string]int{"n": n}))
	browser.WaitFor(t, ctx, gotExactly(want), clientState, demoWait)
	if got := browser.Eval[[]string](t, ctx, `h.unsubscribe('demo.sw.c')`); !slices.Equal(got, []string{"demo.sw.b"}) {
		t.Fatalf("unsubscribe applied %v, want [demo.sw.b]", got)
	}
	publishHTTP(t, s, "demo.sw.c", "rec", map[string]int{"n": -1})
	if got := browser.Eval[string](t, ctx, `h.connectionId`); got != connID {
		t.Fatalf("connection id changed from %s to %s: subscribe/unsubscribe reconnected", connID, got)
	}

	stale := func() { publishHTTP(t, s, "demo.sw.a", "rec", map[string]int{"n": -1}) }
	want = append(want, killEachReplica(t, s, "demo.sw.b", &n, stale)...)
	finish(t, s, ctx, "demo.sw.b", &n, want)

	// Every EventSource after the first must name the new channel only, and
	// resume from the last id.
	urls := browser.Eval[[]string](t, ctx, `esURLs`)
	if len(urls) < 2 {
		t.Fatalf("EventSources opened: %v; want herald.js's own reconnect after the drop", urls)
	}
	for _, u := range urls[1:] {
		if !strings.Contains(u, "channel=demo.sw.b") || strings.Contains(u, "demo.sw.a") || !strings.Contains(u, "last_event_id=") {
			t.Errorf("reconnect %s: want channel=demo.sw.b only, with last_event_id", u)
		}
	}
	browser.WaitFor(t, ctx, `resumed.length >= 1`, clientState, demoWait)
}
