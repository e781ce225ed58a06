package e2e_test

// The demo page at /: switching rooms changes the channels of its one
// EventSource through the connection control API — never a second /stream
// request — and after each switch the new room's events arrive while the old
// room's stop.

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/launcher"
)

// demoState describes the demo page for a failing wait.
const demoState = `JSON.stringify({state: heraldDemo.herald.state, conn: heraldDemo.herald.connectionId,
	channels: heraldDemo.herald.channels, room: heraldDemo.room, applied: heraldDemo.applied,
	received: heraldDemo.received.map((e) => e.id + ':' + e.channel),
	title: document.getElementById('room-title').textContent,
	messages: [...document.querySelectorAll('#messages .msg-text')].map((e) => e.textContent)})`

func TestDemoSwitchRoomsOnOneConnection(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{Env: demoEnv})
	ctx := browser.New(t)
	browser.Navigate(t, ctx, s.BaseURL+"/")
	browser.WaitFor(t, ctx, `window.heraldDemo && heraldDemo.herald.state === 'open'`, `document.body.innerText`, demoWait)
	connID := browser.Eval[string](t, ctx, `heraldDemo.herald.connectionId`)

	room := "lobby"
	missed := map[string][]string{} // messages a room got while the page was elsewhere
	for i, next := range []string{"dev", "random", "lobby", "dev", "random"} {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rooms button[data-room=%q]`, next)))); err != nil {
			t.Fatalf("clicking room %s: %v", next, err)
		}
		browser.WaitFor(t, ctx, fmt.Sprintf(`heraldDemo.applied === %q`, next), demoState, demoWait)

		// Old room first: the stream is ordered, so once the new room's
		// message is in, the old one would have been too.
		oldText := fmt.Sprintf("old room %s, switch %d", room, i)
		newText := fmt.Sprintf("new room %s, switch %d", next, i)
		oldID := publishHTTP(t, s, "chat."+room, "chat", map[string]string{"name": "test", "text": oldText})
		newID := publishHTTP(t, s, "chat."+next, "chat", map[string]string{"name": "test", "text": newText})
		browser.WaitFor(t, ctx, fmt.Sprintf(`heraldDemo.received.some((e) => e.id === %q)`, newID), demoState, demoWait)
		ids := browser.Eval[[]string](t, ctx, `heraldDemo.received.map((e) => e.id)`)
		if slices.Contains(ids, oldID) {
			t.Fatalf("switch %d (%s → %s): the old room's event %s still arrived; received %v", i, room, next, oldID, ids)
		}
		// The room shows its new message and, from the history API, what
		// was said while the page was in other rooms.
		texts, _ := json.Marshal(append(missed[next], newText))
		browser.WaitFor(t, ctx, fmt.Sprintf(
			`document.getElementById('room-title').textContent === %q && %s.every((m) => [...document.querySelectorAll('#messages .msg-text')].some((e) => e.textContent === m))`,
			"# "+next, texts), demoState, demoWait)
		missed[next] = nil
		missed[room] = append(missed[room], oldText)
		room = next
	}

	if got := browser.Eval[string](t, ctx, `heraldDemo.herald.connectionId`); got != connID {
		t.Fatalf("connection id went from %s to %s: a switch reconnected", connID, got)
	}
	// A resource timing entry is written when a response ends, so close the
	// stream first; then the page must have made exactly one /stream request.
	browser.Eval[bool](t, ctx, `heraldDemo.herald.close(), true`)
	browser.WaitFor(t, ctx, `performance.getEntriesByType('resource').some((e) => new URL(e.name).pathname === '/stream')`, demoState, demoWait)
	streams := browser.Eval[[]string](t, ctx,
		`performance.getEntriesByType('resource').map((e) => e.name).filter((u) => new URL(u).pathname === '/stream')`)
	if len(streams) != 1 {
		t.Fatalf("the page made %d /stream requests, want exactly 1: %v", len(streams), streams)
	}
}
