package e2e_test

// One EventSource per browser (herald.js's tab sharing): many tabs of the
// demo over HTTP/1.1 — where each tab holding its own EventSource would use up
// the six connections a host gets and stall every fetch — share the leader
// tab's one /stream request. Every tab receives exactly its room's events,
// publishes and fetches; when the leader tab closes mid-stream another tab
// takes over and no tab loses an event or sees one twice.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/launcher"
)

var demoRooms = []string{"lobby", "dev", "random"}

// sharedTab is one tab of the demo and what it must have received.
type sharedTab struct {
	name   string
	ctx    context.Context
	room   string
	want   []string // ids, in order
	closed bool
}

// sharedBrowser is a browser whose tabs all count the /stream requests they
// make (the CDP network domain sees a request when it starts, open or not).
type sharedBrowser struct {
	t       *testing.T
	first   context.Context
	streams atomic.Int64
	tabs    []*sharedTab
}

func newSharedBrowser(t *testing.T) *sharedBrowser {
	return &sharedBrowser{t: t, first: browser.New(t)}
}

// open adds a tab showing the demo in room; script, when set, runs in the
// page before any of its own.
func (b *sharedBrowser) open(s *launcher.Stack, room, script string) *sharedTab {
	t := b.t
	t.Helper()
	name := fmt.Sprintf("tab%d", len(b.tabs))
	ctx := b.first
	if len(b.tabs) > 0 {
		ctx = browser.NewTab(t, b.first, name)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, "/stream?") {
			b.streams.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if script != "" {
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: script}); err != nil {
			t.Fatal(err)
		}
	}
	browser.Navigate(t, ctx, s.BaseURL+"/#"+room)
	tab := &sharedTab{name: name, ctx: ctx, room: room}
	b.tabs = append(b.tabs, tab)
	return tab
}

func (b *sharedBrowser) live() []*sharedTab {
	var l []*sharedTab
	for _, tab := range b.tabs {
		if !tab.closed {
			l = append(l, tab)
		}
	}
	return l
}

// waitOpen waits until every live tab's handle is open on its room.
func (b *sharedBrowser) waitOpen() {
	for _, tab := range b.live() {
		browser.WaitFor(b.t, tab.ctx, fmt.Sprintf(`window.heraldDemo && heraldDemo.herald.state === 'open' && heraldDemo.room === %q`, tab.room),
			sharedState, demoWait)
	}
}

// waitLeader polls the live tabs until one of them leads (after a crash
// without Web Locks the followers only notice the silence after a while).
func (b *sharedBrowser) waitLeader() {
	b.t.Helper()
	deadline := time.Now().Add(demoWait)
	for time.Now().Before(deadline) {
		for _, tab := range b.live() {
			if browser.Eval[bool](b.t, tab.ctx, `heraldDemo.herald.leader`) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	b.t.Fatalf("no tab took the lead within %s", demoWait)
}

// leader returns the one live tab holding the EventSource, failing the test
// unless there is exactly one.
func (b *sharedBrowser) leader() *sharedTab {
	b.t.Helper()
	var leaders []*sharedTab
	for _, tab := range b.live() {
		if browser.Eval[bool](b.t, tab.ctx, `heraldDemo.herald.leader`) {
			leaders = append(leaders, tab)
		}
	}
	if len(leaders) != 1 {
		names := []string{}
		for _, l := range leaders {
			names = append(names, l.name)
		}
		b.t.Fatalf("%d leader tabs %v, want exactly 1", len(leaders), names)
	}
	return leaders[0]
}

// published records an event on channel for every tab that must get it.
func (b *sharedBrowser) published(channel, id string) {
	for _, tab := range b.tabs {
		if channel == "ticker" || channel == "chat."+tab.room {
			tab.want = append(tab.want, id)
		}
	}
}

// waitReceived waits until every live tab received exactly its want, in id
// order: nothing missing, nothing twice, nothing from another room.
func (b *sharedBrowser) waitReceived() {
	for _, tab := range b.live() {
		slices.SortFunc(tab.want, func(x, y string) int { return cmpNum(x, y) })
		last := tab.want[len(tab.want)-1]
		browser.WaitFor(b.t, tab.ctx, fmt.Sprintf(`heraldDemo.received.some((e) => e.id === %q)`, last), sharedState, demoWait)
		got := browser.Eval[[]string](b.t, tab.ctx, `heraldDemo.received.map((e) => e.id)`)
		if !slices.Equal(got, tab.want) {
			b.t.Fatalf("%s (room %s) received %v\nwant exactly %v", tab.name, tab.room, got, tab.want)
		}
	}
}

const sharedState = `JSON.stringify({state: heraldDemo.herald.state, leader: heraldDemo.herald.leader,
	room: heraldDemo.room, channels: heraldDemo.herald.channels, conn: heraldDemo.herald.connectionId,
	received: heraldDemo.received.map((e) => e.id + ':' + e.channel)})`

func cmpNum(x, y string) int {
	a, _ := strconv.ParseUint(x, 10, 64)
	c, _ := strconv.ParseUint(y, 10, 64)
	switch {
	case a < c:
		return -1
	case a > c:
		return 1
	}
	return 0
}

// tabCall is what a tab measured for one publish and one fetch.
type tabCall struct {
	ID        string  `json:"id"`
	PublishMS float64 `json:"publishMs"`
	FetchMS   float64 `json:"fetchMs"`
	Status    int     `json:"status"`
}

func TestSharedTabsOneStreamForTenTabs(t *testing.T) {
	testSharedTabs(t, 10, "")
}

// Without the Web Locks API (plain-http pages on a non-local host are not a
// secure context and lack it) the tabs elect their leader over the
// BroadcastChannel.
func TestSharedTabsWithoutWebLocks(t *testing.T) {
	testSharedTabs(t, 4, `delete Navigator.prototype.locks;`)
}

func testSharedTabs(t *testing.T, n int, script string) {
	s := launcher.StartTB(t, launcher.Options{Env: demoEnv})
	b := newSharedBrowser(t)
	for i := range n {
		b.open(s, demoRooms[i%len(demoRooms)], script)
	}
	b.waitOpen()
	lead := b.leader()
	t.Logf("%d tabs open, leader %s, %d /stream request(s)", n, lead.name, b.streams.Load())
	if script != "" {
		if has := browser.Eval[bool](t, lead.ctx, `'locks' in navigator`); has {
			t.Fatal("navigator.locks is still there; the fallback is not being tested")
		}
	}

	// Events from outside reach exactly the tabs of their room, and the
	// ticker reaches everyone.
	for i, room := range demoRooms {
		for k := range 2 {
			id := publishHTTP(t, s, "chat."+room, "chat", map[string]string{"name": "test", "text": fmt.Sprintf("%s %d", room, k)})
			b.published("chat."+room, id)
		}
		b.published("ticker", publishHTTP(t, s, "ticker", "tick", map[string]any{"symbol": "HRLD", "price": 100 + i}))
	}
	b.waitReceived()

	// Every tab publishes, and a fetch answers in every tab while the one
	// EventSource is open.
	var worstPublish, worstFetch float64
	for _, tab := range b.live() {
		c := browser.Eval[tabCall](t, tab.ctx, fmt.Sprintf(`(async () => {
			const t0 = performance.now();
			const p = await heraldDemo.herald.publish('chat.%s', {name: %q, text: 'hello from ' + %q}, {type: 'chat'});
			const t1 = performance.now();
			const res = await fetch('/api/v1/channels/chat.%s/events?limit=1');
			await res.text();
			return {id: p.id, publishMs: t1 - t0, fetchMs: performance.now() - t1, status: res.status};
		})()`, tab.room, tab.name, tab.name, tab.room))
		if c.ID == "" || c.Status != http.StatusOK {
			t.Fatalf("%s: publish/fetch = %+v", tab.name, c)
		}
		b.published("chat."+tab.room, c.ID)
		worstPublish = max(worstPublish, c.PublishMS)
		worstFetch = max(worstFetch, c.FetchMS)
	}
	t.Logf("with %d tabs open: slowest publish %.1f ms, slowest fetch %.1f ms (liveness criterion: < 1000 ms)", n, worstPublish, worstFetch)
	b.waitReceived()
	if got := b.streams.Load(); got != 1 {
		t.Fatalf("the browser made %d /stream requests for %d tabs, want exactly 1", got, n)
	}

	// Close the leader tab while events keep coming: another tab takes over,
	// resuming from the last id the tabs saw.
	next := b.takeover(s, lead, page.Close, "closed")
	if got := b.streams.Load(); got != 2 {
		t.Fatalf("%d /stream requests after one takeover, want exactly 2 (the old leader's and the new one's)", got)
	}

	// A follower switches rooms: the leader moves the one stream to the new
	// union in place, and the follower gets its new room only.
	var follower *sharedTab
	for _, tab := range b.live() {
		if tab != next {
			follower = tab
			break
		}
	}
	to := demoRooms[(slices.Index(demoRooms, follower.room)+1)%len(demoRooms)]
	browser.Eval[bool](t, follower.ctx, fmt.Sprintf(`heraldDemo.switchRoom(%q).then(() => heraldDemo.applied === %q)`, to, to))
	follower.room = to
	for _, room := range demoRooms {
		b.published("chat."+room, publishHTTP(t, s, "chat."+room, "chat", map[string]string{"name": "test", "text": "after the switch"}))
	}
	// A channel no tab had: the union grows through the control API.
	conn := browser.Eval[string](t, next.ctx, `heraldDemo.herald.connectionId`)
	if got := browser.Eval[[]string](t, follower.ctx, `heraldDemo.herald.subscribe('chat.extra')`); !slices.Contains(got, "chat.extra") {
		t.Fatalf("%s: subscribe resolved %v, want chat.extra in it", follower.name, got)
	}
	follower.want = append(follower.want, publishHTTP(t, s, "chat.extra", "chat", map[string]string{"name": "test", "text": "extra"}))
	b.waitReceived()
	if got := b.streams.Load(); got != 2 {
		t.Fatalf("%d /stream requests after a follower's switch and subscribe, want still 2", got)
	}
	if got := browser.Eval[string](t, next.ctx, `heraldDemo.herald.connectionId`); got != conn {
		t.Fatalf("the leader's connection changed from %s to %s: the union was not changed in place", conn, got)
	}

	// Crash the new leader's renderer: no pagehide, no goodbye. With Web
	// Locks the browser frees the lock at once; without, the followers notice
	// the silence.
	b.takeover(s, next, page.Crash, "crashed")
	if got := b.streams.Load(); got != 3 {
		t.Fatalf("%d /stream requests after two takeovers, want exactly 3", got)
	}
}

// takeover ends the leader tab with end (page.Close or page.Crash) while
// events keep coming, and checks that another tab took over and every live
// tab got every event of its channels exactly once.
func (b *sharedBrowser) takeover(s *launcher.Stack, lead *sharedTab, end cdp.Command[cdp.Empty, cdp.Empty], how string) *sharedTab {
	t := b.t
	t.Helper()
	var mu sync.Mutex
	var during []string
	var chans []string
	done := make(chan struct{})
	halfway := make(chan struct{})
	go func() {
		defer close(done)
		for k := range 30 {
			if k == 10 {
				close(halfway)
			}
			room := demoRooms[k%len(demoRooms)]
			id := publishHTTPNoFatal(s, "chat."+room, map[string]string{"name": "test", "text": fmt.Sprintf("during %d", k)})
			mu.Lock()
			during = append(during, id)
			chans = append(chans, "chat."+room)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // pacing the publisher, not waiting for a result
		}
	}()
	<-halfway
	// A crashed page never answers the command: bound it, and expect an error.
	ctx, cancel := context.WithTimeout(lead.ctx, 5*time.Second)
	_, err := chromedp.Call(ctx, end, cdp.Empty{})
	cancel()
	if err != nil && how != "crashed" {
		t.Fatalf("ending the leader tab %s: %v", lead.name, err)
	}
	lead.closed = true
	<-done
	for i, id := range during {
		if id == "" {
			t.Fatalf("publish %d during the takeover failed", i)
		}
		b.published(chans[i], id)
	}
	b.waitLeader()
	b.waitOpen()
	next := b.leader()
	t.Logf("leader %s %s; %s took over", lead.name, how, next.name)
	b.waitReceived()
	return next
}

// publishHTTPNoFatal is publishHTTP for a goroutine: "" when it failed.
func publishHTTPNoFatal(s *launcher.Stack, channel string, data any) string {
	id, _ := publishWith(s.BaseURL, "", channel, "chat", data)
	return id
}

// publishWith posts one event to base (nginx or the api itself), with a
// Bearer token unless tok is "", and returns its id ("" on failure) and the
// status.
func publishWith(base, tok, channel, typ string, data any) (string, int) {
	body, _ := json.Marshal(map[string]any{"type": typ, "data": data})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/channels/"+channel+"/events", bytes.NewReader(body))
	if err != nil {
		return "", 0
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0
	}
	defer res.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if res.StatusCode != http.StatusCreated || json.NewDecoder(res.Body).Decode(&out) != nil {
		return "", res.StatusCode
	}
	return out.ID, res.StatusCode
}
