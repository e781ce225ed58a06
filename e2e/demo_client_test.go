package e2e_test

// herald.js's own logic in a real browser, with a scripted EventSource in
// place of the browser's: the frames (duplicates included, which a correct
// server never sends) are chosen by the test, so de-duplication, the URL of
// each self-made reconnect, 'resumed' and 'gap' are checked exactly.

import (
	"slices"
	"testing"

	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/launcher"
)

// fakeEventSource replaces window.EventSource; window.fakes lists every
// instance herald.js created, newest last.
const fakeEventSource = `(() => {
	window.fakes = [];
	window.EventSource = class {
		static CONNECTING = 0; static OPEN = 1; static CLOSED = 2;
		constructor(url) { this.url = url; this.readyState = 0; this.listeners = {}; fakes.push(this); }
		addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
		close() { this.readyState = 2; }
		emit(type, data, id) {
			this.readyState = 1;
			const ev = new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id || '' });
			for (const fn of this.listeners[type] || []) fn(ev);
		}
		rec(id) { this.emit('rec', { channel: 'x', type: 'rec', data: { n: Number(id) }, time: '2026-11-26T10:00:00Z' }, id); }
		fail() { this.readyState = 2; if (this.onerror) this.onerror(new Event('error')); }
	};
	window.h = herald.connect('', { channels: ['x'], types: ['rec'], shared: false });
	window.got = []; window.states = []; window.resumed = []; window.gaps = [];
	h.on('*', (e) => got.push(e.id));
	h.on('state', (s) => states.push(s));
	h.on('resumed', (r) => resumed.push(r));
	h.on('gap', (g) => gaps.push(g));
	return true;
})()`

const fakeState = `JSON.stringify({urls: fakes.map((f) => f.url), got, states, resumed, gaps, last: h.lastEventId, channels: h.channels})`

func TestDemoHeraldDedupesAndReconnectsItself(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{Env: demoEnv})
	ctx := browser.New(t)
	browser.Navigate(t, ctx, s.BaseURL+"/playground.html")
	browser.WaitFor(t, ctx, `typeof window.herald === 'object'`, `document.body.innerText`, demoWait)
	browser.Eval[bool](t, ctx, fakeEventSource)

	eval := func(js string) { browser.Eval[any](t, ctx, js+"; true") }
	wait := func(cond string) { browser.WaitFor(t, ctx, cond, fakeState, demoWait) }

	eval(`fakes[0].emit('herald.connected', {connection_id: 'c1', channels: ['x']}); fakes[0].rec('1'); fakes[0].rec('2'); fakes[0].rec('3')`)
	wait(`h.state === 'open' && h.lastEventId === '3'`)

	// A non-200 ends an EventSource for good: herald.js must reconnect itself
	// with the last id.
	eval(`fakes[0].fail()`)
	wait(`fakes.length === 2`)
	if u := browser.Eval[string](t, ctx, `fakes[1].url`); u != "/stream?channel=x&last_event_id=3" {
		t.Fatalf("reconnect URL %q, want /stream?channel=x&last_event_id=3", u)
	}
	// The replay overlaps what was seen: only 4 and 5 are new.
	eval(`fakes[1].emit('herald.connected', {connection_id: 'c2', channels: ['x']}); ['2', '3', '4', '3', '5', '1'].forEach((id) => fakes[1].rec(id))`)
	wait(`resumed.length === 1`)
	if got := browser.Eval[[]string](t, ctx, `got`); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Fatalf("delivered %v, want each of 1..5 once", got)
	}
	if m := browser.Eval[int](t, ctx, `resumed[0].missed`); m != 2 {
		t.Fatalf("resumed %d missed events, want 2", m)
	}

	// c2 is not a real connection: the control API answers 404, and herald.js
	// reconnects with the new set instead of losing the change.
	applied := browser.Eval[[]string](t, ctx, `h.setChannels(['y', 'z.*'])`)
	if !slices.Equal(applied, []string{"y", "z.*"}) {
		t.Fatalf("setChannels resolved %v, want [y z.*]", applied)
	}
	wait(`fakes.length === 3`)
	if u := browser.Eval[string](t, ctx, `fakes[2].url`); u != "/stream?channel=y&channel=z.*&last_event_id=5" {
		t.Fatalf("reconnect URL after a 404 %q, want the new channels and last_event_id=5", u)
	}

	eval(`fakes[2].emit('herald.connected', {connection_id: 'c3', channels: ['y', 'z.*']}); fakes[2].emit('herald.gap', {after: 5, first_available: 9})`)
	wait(`gaps.length === 1`)
	if g := browser.Eval[map[string]string](t, ctx, `gaps[0]`); g["after"] != "5" || g["firstAvailable"] != "9" {
		t.Fatalf("gap %v, want after 5, firstAvailable 9", g)
	}

	eval(`h.close()`)
	want := []string{"open", "connecting", "open", "connecting", "open", "closed"}
	if st := browser.Eval[[]string](t, ctx, `states`); !slices.Equal(st, want) {
		t.Fatalf("states %v, want %v", st, want)
	}
}
