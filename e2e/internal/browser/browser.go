// Package browser runs headless Chromium for the end-to-end tests: New gives
// a test a tab (closed with the test), Eval runs JavaScript in it and WaitFor
// polls a JavaScript condition with a deadline, failing the test with the
// page's state when it never holds. The page's console goes to the test log.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds each single browser action.
const Timeout = 20 * time.Second

// Path returns the Chromium to run: $CHROMIUM, /usr/bin/chromium, or a
// chromium/chrome on PATH.
func Path() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found: install it (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM")
}

// IgnoreCertErrors lets the browser accept the self-signed certificate the
// launcher's nginx serves HTTPS with.
var IgnoreCertErrors = chromedp.Flag("ignore-certificate-errors", true)

// New starts a fresh headless Chromium (its own empty profile) and returns
// the context of its first tab. Everything stops when the test ends. Without
// Chromium the test is skipped with a message saying how to install it. extra
// adds command-line flags (e.g. IgnoreCertErrors).
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := Path()
	if err != nil {
		t.Skip(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// The machine's network is closed: without these Chromium keeps
		// trying to reach Google's services.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	stop := logConsole(t, ctx, "page")
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		stop()
	})
	return ctx
}

// NewTab opens another tab in the browser of ctx; it closes with the test.
func NewTab(t testing.TB, ctx context.Context, name string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	if err := chromedp.Do(tab); err != nil {
		cancel()
		t.Fatalf("opening tab %s: %v", name, err)
	}
	stop := logConsole(t, tab, name)
	t.Cleanup(func() {
		cancel()
		stop()
	})
	return tab
}

// logConsole copies the tab's console to the test log until stop, which
// returns only once nothing more will be logged (t.Log after a test ends
// panics).
func logConsole(t testing.TB, ctx context.Context, name string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	msgs := chromedp.Console(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			t.Logf("%s console: %s", name, m)
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// Navigate loads url in the tab and waits for it.
func Navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(actx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigating to %s: %v", url, err)
	}
}

// Eval evaluates js in the page, awaiting it when it is a promise, and
// decodes its value into T (use chromedp.Void to ignore it).
func Eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := Try[T](ctx, js)
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// Try is Eval returning the error instead of failing the test.
func Try[T any](ctx context.Context, js string) (T, error) {
	actx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return chromedp.Run(actx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// WaitFor polls the JavaScript expression cond until it is truthy, for at
// most timeout. If it never is, the test fails with what describe (another
// expression, e.g. a JSON dump of the page's state) evaluates to.
func WaitFor(t testing.TB, ctx context.Context, cond, describe string, timeout time.Duration) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(actx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err == nil {
		return
	}
	state := "(no description)"
	if describe != "" {
		if s, derr := Try[string](ctx, describe); derr == nil {
			state = s
		} else {
			state = fmt.Sprintf("(describing failed: %v)", derr)
		}
	}
	t.Fatalf("waiting up to %s for %s: %v; page state: %s", timeout, cond, err, state)
}
