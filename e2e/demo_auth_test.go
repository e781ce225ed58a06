package e2e_test

// herald.js with auth on, in Chromium through nginx: an HttpOnly cookie (set
// the way an app's backend would, out of the page's reach) grants chat.*; the
// page receives chat.lobby and is refused admin.x everywhere. A second handle
// authenticates with tokens from getToken: the first one is already expired
// (a 401 at connect), the next ones expire while events keep coming (the
// server ends the stream with herald.expired) — and the page receives every
// event across each renewal exactly once.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/launcher"
	"github.com/herald-push/herald/services/kit/auth/authtest"
)

// authEnv is the services' auth for a test: authtest's HMAC secret, a 1s
// leeway (so an expired token is refused at once), and anonymous rights on
// patterns only.
func authEnv(anonymous ...string) []string {
	list := strings.Join(anonymous, ",")
	return []string{"HERALD_AUTH_HMAC_SECRET=" + authtest.Secret, "HERALD_AUTH_LEEWAY=1s",
		"HERALD_AUTH_ANONYMOUS_PUBLISH=" + list, "HERALD_AUTH_ANONYMOUS_SUBSCRIBE=" + list}
}

// demoEnv lets anonymous clients use the demo's channels and the herald.js
// tests' own (auth fails closed).
var demoEnv = authEnv("chat.*", "ticker", "demo.>")

// token mints an HS256 token for sub that expires at exp.
func token(t *testing.T, sub string, publish, subscribe []string, exp time.Time) string {
	c := authtest.Claims(sub, publish, subscribe, time.Hour)
	c["exp"] = exp.Unix()
	return authtest.Sign(t, jwt.SigningMethodHS256, []byte(authtest.Secret), "", c)
}

// publishAs posts one event through nginx with a Bearer token and returns its id.
func publishAs(t *testing.T, s *launcher.Stack, tok, channel string, n int) string {
	t.Helper()
	id, status := publishWith(s.BaseURL, tok, channel, "rec", map[string]int{"n": n})
	if status != http.StatusCreated {
		t.Fatalf("publishing to %s with a token: status %d", channel, status)
	}
	return id
}

func TestDemoAuthCookieAndTokenRenewal(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{Env: authEnv("authtest.none")})
	far := time.Now().Add(time.Hour)
	publisher := token(t, "publisher", []string{"chat.*", "admin.x"}, nil, far)

	ctx := browser.New(t)
	cookie := token(t, "alice", []string{"chat.*"}, []string{"chat.*"}, far)
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: "herald_token", Value: cookie, URL: s.BaseURL + "/", HTTPOnly: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	browser.Navigate(t, ctx, s.BaseURL+"/playground.html")
	browser.WaitFor(t, ctx, `typeof window.herald === 'object'`, `document.body.innerText`, demoWait)
	if c := browser.Eval[string](t, ctx, `document.cookie`); strings.Contains(c, "herald_token") {
		t.Fatalf("the page can read its token cookie (%q); it must be HttpOnly", c)
	}

	// The cookie handle: chat.* is granted, admin.x is not.
	browser.Eval[bool](t, ctx, `(() => {
		window.c = herald.connect('', { channels: ['chat.lobby'], types: ['rec'] });
		window.cgot = [];
		c.on('*', (e) => cgot.push(e.id));
		return true;
	})()`)
	browser.WaitFor(t, ctx, `c.state === 'open'`, `JSON.stringify({state: c.state, cgot})`, demoWait)
	lobby := publishAs(t, s, publisher, "chat.lobby", 1)
	mine := browser.Eval[string](t, ctx, `c.publish('chat.lobby', {n: 2}, {type: 'rec'}).then((r) => r.id)`)
	browser.WaitFor(t, ctx, fmt.Sprintf(`JSON.stringify(cgot) === JSON.stringify([%q, %q])`, lobby, mine),
		`JSON.stringify(cgot)`, demoWait)

	refusals := browser.Eval[map[string]any](t, ctx, `(async () => {
		const stream = await fetch('/stream?channel=admin.x');
		const problem = await stream.json();
		const change = await c.setChannels(['chat.lobby', 'admin.x']).then(() => 0, (e) => e.status);
		const pub = await c.publish('admin.x', {n: 0}).then(() => 0, (e) => e.status);
		return {stream: stream.status, reason: problem.reason, change, pub, channels: c.channels};
	})()`)
	if refusals["stream"] != 403.0 || refusals["reason"] != "forbidden" || refusals["change"] != 403.0 || refusals["pub"] != 403.0 {
		t.Fatalf("admin.x with a chat.* cookie: %v; want /stream 403 forbidden, setChannels and publish rejected with 403", refusals)
	}
	if ch := refusals["channels"].([]any); len(ch) != 1 || ch[0] != "chat.lobby" {
		t.Fatalf("after the refused change the handle's channels are %v, want [chat.lobby]", ch)
	}

	// The token handle: getToken hands out tokens minted now — the first
	// already expired, two that expire during the test, then one for an hour.
	now := time.Now()
	sub := []string{"chat.*"}
	tokens := []string{
		token(t, "bob", sub, sub, now.Add(-time.Minute)),
		token(t, "bob", sub, sub, now.Add(5*time.Second)),
		token(t, "bob", sub, sub, now.Add(10*time.Second)),
		token(t, "bob", sub, sub, far),
	}
	browser.Eval[bool](t, ctx, fmt.Sprintf(`(() => {
		window.tokens = %s; window.calls = 0;
		window.h = herald.connect('', { channels: ['chat.renew'], types: ['rec'],
			getToken: async () => tokens[Math.min(calls++, tokens.length - 1)] });
		window.got = []; window.expired = 0; window.connects = [];
		h.on('*', (e) => got.push(e.id));
		h.on('expired', () => expired++);
		h.on('connected', (c) => connects.push(c.connectionId));
		return true;
	})()`, jsList(tokens)))
	const renewState = `JSON.stringify({state: h.state, calls, expired, connects, got})`
	browser.WaitFor(t, ctx, `h.state === 'open'`, renewState, demoWait)
	if calls := browser.Eval[int](t, ctx, `calls`); calls < 2 {
		t.Fatalf("getToken called %d times before the stream opened; want the expired token refused and a renewal", calls)
	}

	// Publish steadily until both short tokens expired under the stream.
	var want []string
	n := 0
	deadline := time.Now().Add(45 * time.Second)
	for browser.Eval[int](t, ctx, `expired`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the stream did not expire twice; page: %s", browser.Eval[string](t, ctx, renewState))
		}
		n++
		want = append(want, publishAs(t, s, publisher, "chat.renew", n))
		time.Sleep(100 * time.Millisecond) // pacing the publisher, not waiting for a result
	}
	// The page's own publish carries its current token.
	want = append(want, browser.Eval[string](t, ctx, `h.publish('chat.renew', {n: -1}, {type: 'rec'}).then((r) => r.id)`))
	n++
	want = append(want, publishAs(t, s, publisher, "chat.renew", n))
	browser.WaitFor(t, ctx, fmt.Sprintf(`got.includes(%q)`, want[len(want)-1]), renewState, demoWait)
	got := browser.Eval[[]string](t, ctx, `got`)
	if !slices.Equal(got, want) {
		t.Fatalf("across two renewals the page received %v\nwant exactly %v", got, want)
	}
	calls := browser.Eval[int](t, ctx, `calls`)
	connects := browser.Eval[[]string](t, ctx, `connects`)
	// One call per connect (the first refused), shared by the tab's
	// publishes; a slow machine may see a short token expire before use.
	if calls < 4 || len(connects) < 3 {
		t.Fatalf("getToken called %d times, %d connects; want ≥ 4 and ≥ 3 (expired at connect, then two expiries)", calls, len(connects))
	}
	t.Logf("%d events across %d connects, getToken called %d times, each event once", len(want), len(connects), calls)
	// The cookie handle was never disturbed.
	if st := browser.Eval[string](t, ctx, `c.state`); st != "open" {
		t.Fatalf("the cookie handle is %s, want open", st)
	}
}
