package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/api/config"
	"google.golang.org/protobuf/proto"
)

// TestHistory publishes 1..9 as data on three channels and pages through
// them with patterns, cursors and limits, comparing exact bodies.
func TestHistory(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.HistoryLimit = 3; c.HistoryLimitMax = 4 })
	chans := []string{"chat.a", "chat.b", "news", "chat.a", "chat.b", "news", "chat.a", "chat.b", "news"}
	for i, ch := range chans {
		if r := e.do("POST", "/api/v1/channels/"+ch+"/events", "application/json", fmt.Sprintf(`{"data":%d}`, i+1)); r.status != 201 {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	ev := func(id int) string {
		return fmt.Sprintf(`{"id":"%d","channel":"%s","type":"message","data":%d,"time":"T"}`, id, chans[id-1], id)
	}
	page := func(next string, ids ...int) string {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = ev(id)
		}
		return `{"events":[` + strings.Join(parts, ",") + `],"next":` + next + "}\n"
	}
	tests := []struct {
		name, query string
		want        string
	}{
		{"default limit", "news/events", page(`null`, 3, 6, 9)},
		{"default limit pages", ">/events", page(`"3"`, 1, 2, 3)},
		{"cursor", ">/events?after=3", page(`"6"`, 4, 5, 6)},
		{"last page", ">/events?after=6", page(`null`, 7, 8, 9)},
		{"limit capped at max", ">/events?limit=100", page(`"4"`, 1, 2, 3, 4)},
		{"limit 1", "chat.a/events?limit=1", page(`"1"`, 1)},
		{"limit 1 next", "chat.a/events?limit=1&after=1", page(`"4"`, 4)},
		{"star pattern", "chat.*/events?limit=4", page(`"5"`, 1, 2, 4, 5)},
		{"star pattern after", "chat.*/events?after=5", page(`null`, 7, 8)},
		{"escaped gt", "chat.%3E/events?after=2&limit=2", page(`"5"`, 4, 5)},
		{"after 0", "news/events?after=0", page(`null`, 3, 6, 9)},
		{"after end", "news/events?after=9", page(`null`)},
		{"after future", ">/events?after=1000000", page(`null`)},
		{"after largest id", ">/events?after=18446744073709551615", page(`null`)}, // after+1 used to wrap to 0 → 503
		{"no such channel", "nobody/events", page(`null`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/channels/"+tt.query, "", "")
			if r.status != http.StatusOK {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			if got := stripTime(t, r.body); got != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
		})
	}

	bad := []struct{ name, query, detail string }{
		{"after not a number", ">/events?after=abc", `after must be an event id (a whole number), not "abc"`},
		{"after negative", ">/events?after=-1", `after must be an event id (a whole number), not "-1"`},
		{"after overflowing", ">/events?after=18446744073709551616", `after must be an event id (a whole number), not "18446744073709551616"`},
		{"after not decimal", ">/events?after=0x10", `after must be an event id (a whole number), not "0x10"`},
		{"limit zero", ">/events?limit=0", `limit must be a whole number from 1, not "0"`},
		{"limit text", ">/events?limit=x", `limit must be a whole number from 1, not "x"`},
		{"gt not last", "a.>.b/events", `invalid channel "a.>.b": '>' may only be the last token`},
		{"bad token", "a$/events", `invalid channel "a$": channel name tokens must be 1 or more of [A-Za-z0-9_-] separated by single dots`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/channels/"+tt.query, "", "")
			if r.status != 400 || r.body != problemBody(400, tt.detail) {
				t.Errorf("got %d %s", r.status, r.body)
			}
		})
	}

	// History reads leave no consumer behind.
	names := e.stream().ListConsumers(t.Context())
	n := 0
	for range names.Info() {
		n++
	}
	if n != 0 || names.Err() != nil {
		t.Errorf("%d consumers left after history reads (err %v)", n, names.Err())
	}
}

// A raw NATS publisher whose protobuf channel disagrees with the subject does
// not get its event labelled as another channel: the subject wins, as in SSE.
func TestHistoryChannelComesFromSubject(t *testing.T) {
	e := newEnv(t, nil)
	data, _ := proto.Marshal(&heraldv1.Event{Channel: "admin.secret", Data: []byte(`1`)})
	if _, err := e.js.Publish(context.Background(), channel.Subject("chat.lobby"), data); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/channels/chat.lobby/events", "", "")
	if want := `{"events":[{"id":"1","channel":"chat.lobby","type":"message","data":1,"time":"T"}],"next":null}` + "\n"; r.status != 200 || stripTime(t, r.body) != want {
		t.Fatalf("got %d %s, want %s", r.status, r.body, want)
	}
}
