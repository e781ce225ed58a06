package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-push/herald/services/api/config"
)

func TestBatch(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.BodyLimit = 50; c.BatchBodyLimit = 2000; c.BatchMax = 4 })

	t.Run("stored in order", func(t *testing.T) {
		r := e.do("POST", "/api/v1/events", "application/json",
			`{"events":[{"channel":"a","data":1},{"channel":"b.c","type":"t","data":{"x":[ 1 ]}},{"channel":"a","data":null},{"channel":"a","data":"s"}]}`)
		want := `{"results":[` +
			`{"status":201,"id":"1","channel":"a","type":"message","time":"T"},` +
			`{"status":201,"id":"2","channel":"b.c","type":"t","time":"T"},` +
			`{"status":201,"id":"3","channel":"a","type":"message","time":"T"},` +
			`{"status":201,"id":"4","channel":"a","type":"message","time":"T"}]}` + "\n"
		if r.status != http.StatusCreated || stripTime(t, r.body) != want {
			t.Fatalf("got %d %s\nwant %s", r.status, r.body, want)
		}
		h := e.do("GET", "/api/v1/channels/>/events", "", "")
		wantH := `{"events":[` +
			`{"id":"1","channel":"a","type":"message","data":1,"time":"T"},` +
			`{"id":"2","channel":"b.c","type":"t","data":{"x":[1]},"time":"T"},` +
			`{"id":"3","channel":"a","type":"message","data":null,"time":"T"},` +
			`{"id":"4","channel":"a","type":"message","data":"s","time":"T"}],"next":null}` + "\n"
		if stripTime(t, h.body) != wantH {
			t.Errorf("history\n got %s\nwant %s", h.body, wantH)
		}
	})

	// Pipelined publishes of many batches in parallel still give every
	// batch increasing ids in request order.
	t.Run("order under concurrency", func(t *testing.T) {
		done := make(chan []uint64, 8)
		for w := 0; w < 8; w++ {
			go func() {
				var ids []uint64
				for range 5 {
					r := e.do("POST", "/api/v1/events", "application/json",
						`{"events":[{"channel":"o","data":1},{"channel":"o","data":2},{"channel":"o","data":3},{"channel":"o","data":4}]}`)
					for part := range strings.SplitSeq(r.body, `"id":"`) {
						var n uint64
						if _, err := fmt.Sscanf(part, "%d", &n); err == nil {
							ids = append(ids, n)
						}
					}
				}
				done <- ids
			}()
		}
		for range 8 {
			ids := <-done
			if len(ids) != 20 {
				t.Fatalf("got %d ids", len(ids))
			}
			for i := 0; i < len(ids); i += 4 {
				if !(ids[i] < ids[i+1] && ids[i+1] < ids[i+2] && ids[i+2] < ids[i+3]) {
					t.Errorf("batch ids out of order: %v", ids[i:i+4])
				}
			}
		}
	})

	before, err := e.stream().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	errs := []struct {
		name, ct, body string
		status         int
		detail         string
	}{
		{"missing events", "application/json", `{}`, 400, `"events" is required`},
		{"empty events", "application/json", `{"events":[]}`, 400, `"events" is empty`},
		{"too many", "application/json", `{"events":[{"channel":"a","data":1},{"channel":"a","data":1},{"channel":"a","data":1},{"channel":"a","data":1},{"channel":"a","data":1}]}`,
			422, `a batch holds at most 4 events; this one has 5`},
		{"unknown top field", "application/json", `{"events":[],"x":1}`, 400, `unknown field "x"`},
		{"bad channel at 1", "application/json", `{"events":[{"channel":"a","data":1},{"channel":"a.*","data":1}]}`,
			400, `events[1]: invalid channel "a.*": channel name contains a wildcard; publish to a concrete channel`},
		{"no channel at 0", "application/json", `{"events":[{"data":1}]}`, 400, `events[0]: invalid channel "": channel name is empty`},
		{"no data at 2", "application/json", `{"events":[{"channel":"a","data":1},{"channel":"a","data":1},{"channel":"a"}]}`,
			400, `events[2]: "data" is required (it may be null)`},
		{"unknown field at 1", "application/json", `{"events":[{"channel":"a","data":1},{"channel":"a","data":1,"z":0}]}`,
			400, `events[1]: unknown field "z"`},
		{"event not object", "application/json", `{"events":[7]}`, 400, `events[0]: the body must be a JSON object, not number`},
		{"bad type at 3", "application/json", `{"events":[{"channel":"a","data":1},{"channel":"a","data":1},{"channel":"a","data":1},{"channel":"a","type":"herald.x","data":1}]}`,
			422, `events[3]: invalid type "herald.x": event type may not start with "herald.": that prefix is reserved for system events`},
		{"bad key", "application/json", `{"events":[{"channel":"a","data":1,"idempotency_key":""}]}`,
			400, `events[0]: idempotency key must be 1 to 255 characters`},
		{"data too large", "application/json", `{"events":[{"channel":"a","data":"` + strings.Repeat("x", 60) + `"}]}`,
			413, `events[0]: data is 62 bytes as stored (a text/plain body counts JSON-escaped), over the limit of 50 bytes`},
		{"body too large", "application/json", `{"events":[` + strings.Repeat(`{"channel":"a","data":1},`, 100) + `]}`,
			413, `the body is larger than 2000 bytes`},
		{"text plain", "text/plain", `x`, 415, `Content-Type text/plain is not supported; send application/json`},
		{"malformed", "application/json", `{"events":[`, 400, `malformed JSON: unexpected end of the body`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/events", tt.ct, tt.body)
			if r.status != tt.status || r.body != problemBody(tt.status, tt.detail) {
				t.Errorf("got %d %s\nwant %d %s", r.status, r.body, tt.status, problemBody(tt.status, tt.detail))
			}
		})
	}
	after, err := e.stream().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if after.State.Msgs != before.State.Msgs {
		t.Errorf("invalid batches stored %d messages", after.State.Msgs-before.State.Msgs)
	}
}
