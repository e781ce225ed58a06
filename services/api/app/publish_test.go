package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-push/herald/proto/heraldv1"
	"google.golang.org/protobuf/proto"
)

func TestPublish(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, path, ct, body string
		want                 string // body with time stripped
		wantData             string // stored data
		wantType             string
	}{
		{"json object", "/api/v1/channels/news/events", "application/json", `{"data":{"a": [1, 2 ]}}`,
			`{"id":"1","channel":"news","type":"message","time":"T"}` + "\n", `{"a":[1,2]}`, "message"},
		{"json with type", "/api/v1/channels/chat.room1/events", "application/json; charset=utf-8", `{"type":"chat.msg","data":"hi"}`,
			`{"id":"2","channel":"chat.room1","type":"chat.msg","time":"T"}` + "\n", `"hi"`, "chat.msg"},
		{"json null data", "/api/v1/channels/news/events", "application/json", `{"data":null}`,
			`{"id":"3","channel":"news","type":"message","time":"T"}` + "\n", `null`, "message"},
		{"json type null means default", "/api/v1/channels/news/events", "application/json", `{"type":null,"data":1}`,
			`{"id":"4","channel":"news","type":"message","time":"T"}` + "\n", `1`, "message"},
		{"text plain", "/api/v1/channels/news/events", "text/plain", "line1\nline2 \"q\" \u2028",
			`{"id":"5","channel":"news","type":"message","time":"T"}` + "\n", `"line1\nline2 \"q\" \u2028"`, "message"},
		{"text plain with type", "/api/v1/channels/news/events?type=alert", "text/plain; charset=UTF-8", "x",
			`{"id":"6","channel":"news","type":"alert","time":"T"}` + "\n", `"x"`, "alert"},
		{"text plain empty", "/api/v1/channels/news/events", "text/plain", "",
			`{"id":"7","channel":"news","type":"message","time":"T"}` + "\n", `""`, "message"},
		{"unicode type", "/api/v1/channels/a_b-c.D9/events", "application/json", `{"type":"ünïcode<&>","data":[]}`,
			`{"id":"8","channel":"a_b-c.D9","type":"ünïcode<&>","time":"T"}` + "\n", `[]`, "ünïcode<&>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", tt.path, tt.ct, tt.body, "X-Request-Id", "req-"+strings.ReplaceAll(tt.name, " ", "-"))
			if r.status != http.StatusCreated {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			if got := stripTime(t, r.body); got != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			// What JetStream holds is the protobuf event.
			m := getMsg(t, e, idOf(t, r.body))
			ev := &heraldv1.Event{}
			if err := proto.Unmarshal(m, ev); err != nil {
				t.Fatal(err)
			}
			if string(ev.Data) != tt.wantData || ev.Type != tt.wantType {
				t.Errorf("stored data=%s type=%q; want %s %q", ev.Data, ev.Type, tt.wantData, tt.wantType)
			}
			if u := ev.ProtoReflect().GetUnknown(); len(u) != 0 {
				t.Errorf("stored fields the schema does not declare: %x", u)
			}
			if want := "req-" + strings.ReplaceAll(tt.name, " ", "-"); ev.RequestId != want || r.header.Get("X-Request-Id") != want {
				t.Errorf("request id stored %q, echoed %q; want %q", ev.RequestId, r.header.Get("X-Request-Id"), want)
			}
		})
	}
}

func getMsg(t *testing.T, e *env, seq uint64) []byte {
	t.Helper()
	m, err := e.stream().GetMsg(context.Background(), seq)
	if err != nil {
		t.Fatalf("get msg %d: %v", seq, err)
	}
	return m.Data
}

func idOf(t testing.TB, body string) uint64 {
	t.Helper()
	_, rest, ok := strings.Cut(body, `"id":"`)
	id, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("no id in %s", body)
	}
	var n uint64
	for _, c := range id {
		n = n*10 + uint64(c-'0')
	}
	return n
}
