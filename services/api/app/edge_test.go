package app_test

import (
	"strings"
	"testing"

	"github.com/herald-push/herald/services/api/config"
)

// TestForeignMessageInHistory: bytes on an event subject that are not a
// heraldv1.Event (someone published raw) are skipped, not a failed page,
// and the cursor still moves past them.
func TestForeignMessageInHistory(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.HistoryLimit = 2 })
	e.do("POST", "/api/v1/channels/x/events", "application/json", `{"data":1}`)
	if _, err := e.js.Publish(t.Context(), "herald.events.x", []byte{0xff, 0x01}); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/api/v1/channels/x/events", "application/json", `{"data":3}`)
	tests := []struct{ query, want string }{
		{"", `{"events":[{"id":"1","channel":"x","type":"message","data":1,"time":"T"}],"next":"2"}` + "\n"},
		{"?after=2", `{"events":[{"id":"3","channel":"x","type":"message","data":3,"time":"T"}],"next":null}` + "\n"},
	}
	for _, tt := range tests {
		r := e.do("GET", "/api/v1/channels/x/events"+tt.query, "", "")
		if got := stripTime(t, r.body); r.status != 200 || got != tt.want {
			t.Errorf("%s: got %d %s\nwant %s", tt.query, r.status, got, tt.want)
		}
	}
}

// TestLargerThanNATSAllows: a body within api.body_limit but over the NATS
// server's max_payload (1 MiB by default) is a 413, not a 500 or a 503.
func TestLargerThanNATSAllows(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.BodyLimit = 4 << 20 })
	r := e.do("POST", "/api/v1/channels/big/events", "text/plain", strings.Repeat("x", 1<<20))
	if want := problemBody(413, "the event is larger than the event store accepts"); r.status != 413 || r.body != want {
		t.Errorf("got %d %s", r.status, r.body)
	}
	// The api still works afterwards.
	if r := e.do("POST", "/api/v1/channels/big/events", "text/plain", "small"); r.status != 201 {
		t.Errorf("after: %d %s", r.status, r.body)
	}
}

// TestBatchPartialFailure: when NATS refuses one event of a valid batch
// (here: over its max_payload) the others are still stored, and the answer
// is 207 with per-event results.
func TestBatchPartialFailure(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.BodyLimit = 4 << 20; c.BatchBodyLimit = 8 << 20 })
	big := `"` + strings.Repeat("x", 1<<20) + `"`
	r := e.do("POST", "/api/v1/events", "application/json",
		`{"events":[{"channel":"a","data":1},{"channel":"a","data":`+big+`},{"channel":"a","data":3}]}`)
	want := `{"results":[` +
		`{"status":201,"id":"1","channel":"a","type":"message","time":"T"},` +
		`{"status":413,"error":{"type":"about:blank","title":"Request Entity Too Large","status":413,"detail":"the event is larger than the event store accepts"}},` +
		`{"status":201,"id":"2","channel":"a","type":"message","time":"T"}]}` + "\n"
	if got := stripTime(t, r.body); r.status != 207 || got != want {
		t.Errorf("got %d %s\nwant %s", r.status, got, want)
	}
	if r.header.Get("Retry-After") != "" {
		t.Error("Retry-After on a permanent failure")
	}
	// All refused: the first failure's problem.
	r = e.do("POST", "/api/v1/events", "application/json", `{"events":[{"channel":"a","data":`+big+`}]}`)
	if want := problemBody(413, "the event is larger than the event store accepts"); r.status != 413 || r.body != want {
		t.Errorf("all refused: %d %s", r.status, r.body)
	}
}
