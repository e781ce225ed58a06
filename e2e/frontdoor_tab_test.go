package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herald-push/herald/e2e/internal/browser"
)

// browserTab is a Chromium tab showing the probe page.
type browserTab struct {
	t   *testing.T
	ctx context.Context
}

func (b browserTab) eval(js string) {
	b.t.Helper()
	browser.Eval[chromedp.Void](b.t, b.ctx, js)
}

// evalInto decodes the JSON value of js (awaited) into v.
func (b browserTab) evalInto(js string, v any) {
	b.t.Helper()
	raw := browser.Eval[[]byte](b.t, b.ctx, js)
	if err := json.Unmarshal(raw, v); err != nil {
		b.t.Fatalf("decoding %s = %s: %v", js, raw, err)
	}
}

func (b browserTab) waitFor(cond string) {
	b.t.Helper()
	browser.WaitFor(b.t, b.ctx, cond, describe, 15*time.Second)
}

// publish POSTs dataJSON from the page with fetch.
func (b browserTab) publish(channel, dataJSON string) published {
	b.t.Helper()
	var p published
	b.evalInto(fmt.Sprintf(`probe.publish(%q, %s)`, channel, dataJSON), &p)
	return p
}

func (b browserTab) state() probeState {
	b.t.Helper()
	var st probeState
	b.evalInto(`JSON.parse(probe.state())`, &st)
	return st
}
