package e2e_test

// Screenshots of the demo after a short chat, at desktop and at phone width,
// written to testdata/out (gitignored) for a human to look at; the test also
// checks what a screenshot cannot promise: no sideways scrolling at 375 px,
// and the "resumed N missed events" notice after the stream was cut.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/herald-push/herald/e2e/internal/browser"
	"github.com/herald-push/herald/e2e/launcher"
)

// screenshot writes a full-page PNG of the tab to testdata/out/name.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("testdata", "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot: %s", abs)
	return abs
}

func TestDemoScreenshots(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{Env: demoEnv})
	ctx := browser.New(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 860)); err != nil {
		t.Fatal(err)
	}
	browser.Navigate(t, ctx, s.BaseURL+"/")
	browser.WaitFor(t, ctx, `window.heraldDemo && heraldDemo.herald.state === 'open'`, `document.body.innerText`, demoWait)

	say := func(name, text string) {
		publishHTTP(t, s, "chat.lobby", "chat", map[string]string{"name": name, "text": text})
	}
	say("Grace", "Morning! Is the new stream replica rolled out?")
	say("Linus", "Yes, both replicas are up behind nginx. Try killing one.")
	// The page's own user types into the form.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#name"), "Ada"),
		chromedp.SendKeys(chromedp.CSS("#text"), "On it. Switching rooms keeps the same EventSource now."),
		chromedp.Click(chromedp.CSS("#composer button")),
	); err != nil {
		t.Fatalf("posting from the page: %v", err)
	}
	say("Grace", "Nice — and the ticker shares the connection too.")
	price := 100.0
	for i := range 6 {
		price += []float64{0.42, -0.18, 0.77, -0.35, 0.51, 0.23}[i]
		publishHTTP(t, s, "ticker", "tick", map[string]any{"symbol": "HRLD", "price": price})
	}
	browser.WaitFor(t, ctx, `document.querySelectorAll('#messages .msg').length === 4 && document.querySelectorAll('#ticks li').length === 6`,
		demoState, demoWait)
	desktop := screenshot(t, ctx, "demo-desktop.png")

	// The page's own ticker publishes from the browser, once a second.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#ticker-toggle"))); err != nil {
		t.Fatal(err)
	}
	browser.WaitFor(t, ctx, `heraldDemo.received.filter((e) => e.channel === 'ticker').length >= 7`, demoState, demoWait)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#ticker-toggle"))); err != nil {
		t.Fatal(err)
	}
	if label := browser.Eval[string](t, ctx, `document.getElementById('ticker-toggle').textContent`); label != "Start ticker" {
		t.Fatalf("ticker button says %q after stopping, want \"Start ticker\"", label)
	}

	// Cut the stream (each replica in turn, whichever held it) while the
	// others keep chatting; the page resumes and says so.
	for i := range len(s.StreamURLs) {
		if err := s.KillStream(i); err != nil {
			t.Fatal(err)
		}
		say("Linus", fmt.Sprintf("Killed replica %d; this message was sent while it was down.", i))
		if err := s.StartStream(i); err != nil {
			t.Fatal(err)
		}
	}
	browser.WaitFor(t, ctx, `document.querySelectorAll('#messages .msg').length === 6 && !document.getElementById('notice').hidden`,
		demoState, demoWait)
	notice := browser.Eval[string](t, ctx, `document.getElementById('notice').textContent`)
	if !regexp.MustCompile(`^Reconnected — resumed \d+ missed events?\.$`).MatchString(notice) {
		t.Fatalf("notice %q, want \"Reconnected — resumed N missed events.\"", notice)
	}

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	browser.WaitFor(t, ctx, `window.innerWidth === 375`, `String(window.innerWidth)`, demoWait)
	if w := browser.Eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the page is %d px wide: it scrolls sideways", w)
	}
	phone := screenshot(t, ctx, "demo-phone.png")
	t.Logf("look at %s and %s", desktop, phone)
}
