package e2e_test

// Shared helpers of the demo and herald.js browser tests (demo_*_test.go):
// they drive the real page at / (nginx/html) and herald.js through the
// launcher's nginx, and publish from the test over plain HTTP.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/launcher"
)

// demoWait bounds every wait for the page; generous because the machine is
// shared, never a timing assertion.
const demoWait = 15 * time.Second

// publishHTTP posts one event through nginx and returns its id.
func publishHTTP(t *testing.T, s *launcher.Stack, channel, typ string, data any) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		s.BaseURL+"/api/v1/channels/"+channel+"/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("publishing to %s: %v", channel, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("publishing to %s: %d %s", channel, res.StatusCode, raw)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.ID == "" {
		t.Fatalf("publishing to %s: bad reply %s (%v)", channel, raw, err)
	}
	return out.ID
}

// clientPage opens the herald.js playground (a page that loads only herald.js)
// and connects a handle window.h to channels. window.got collects every event
// id, window.connects every herald.connected, window.resumed every 'resumed',
// window.esURLs the URL of every EventSource the page opened.
func clientPage(t *testing.T, s *launcher.Stack, channels ...string) context.Context {
	t.Helper()
	ctx := browser.New(t)
	browser.Navigate(t, ctx, s.BaseURL+"/playground.html")
	browser.WaitFor(t, ctx, `typeof window.herald === 'object'`, `document.body.innerText`, demoWait)
	list, _ := json.Marshal(channels)
	browser.Eval[any](t, ctx, fmt.Sprintf(`(() => {
		window.esURLs = [];
		const Native = window.EventSource;
		window.EventSource = class extends Native {
			constructor(url, opts) { super(url, opts); esURLs.push(url); }
		};
		window.h = herald.connect('', { channels: %s, types: ['rec'] });
		window.got = []; window.events = []; window.connects = []; window.resumed = [];
		h.on('*', (e) => { got.push(e.id); events.push(e.channel + ':' + e.data.n); });
		h.on('connected', (c) => connects.push(c));
		h.on('resumed', (r) => resumed.push(r));
		return true;
	})()`, list))
	browser.WaitFor(t, ctx, `h.state === 'open'`, clientState, demoWait)
	return ctx
}

// clientState describes a clientPage for a failing wait.
const clientState = `JSON.stringify({state: h.state, conn: h.connectionId, channels: h.channels,
	last: h.lastEventId, got, events, connects, resumed, esURLs})`

// jsList renders ids as a JavaScript array literal.
func jsList(ids []string) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

// gotExactly is a condition: the page received exactly want, in order.
func gotExactly(want []string) string {
	return fmt.Sprintf(`JSON.stringify(got) === JSON.stringify(%s)`, jsList(want))
}
