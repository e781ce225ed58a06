package app_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/api/config"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// fakeConn plays the stream replica holding one connection: a plain NATS
// subscription answering ControlRequests the way the stream service does.
type fakeConn struct {
	mu   sync.Mutex
	set  []string
	max  int
	reqs []*heraldv1.ControlRequest
}

func (f *fakeConn) handle(m *nats.Msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := &heraldv1.ControlRequest{}
	reply := &heraldv1.ControlReply{}
	if err := proto.Unmarshal(m.Data, req); err != nil {
		reply.Status = heraldv1.ControlReply_STATUS_BAD_REQUEST
	} else {
		f.reqs = append(f.reqs, req)
		next := slices.Clone(f.set)
		switch req.Op {
		case heraldv1.ControlRequest_OP_REPLACE:
			next = slices.Clone(req.Channels)
		case heraldv1.ControlRequest_OP_ADD:
			next = append(next, req.Channels...)
		case heraldv1.ControlRequest_OP_REMOVE:
			next = slices.DeleteFunc(next, func(c string) bool { return slices.Contains(req.Channels, c) })
		case heraldv1.ControlRequest_OP_GET:
		default:
			reply.Status = heraldv1.ControlReply_STATUS_BAD_REQUEST
		}
		slices.Sort(next)
		next = slices.Compact(next)
		switch {
		case reply.Status != 0:
		case len(next) == 0:
			reply.Status, reply.Detail = heraldv1.ControlReply_STATUS_EMPTY, "removing news would leave no channel"
		case len(next) > f.max:
			reply.Status, reply.Detail = heraldv1.ControlReply_STATUS_TOO_MANY_CHANNELS, "the connection would have 4 channels; at most 3"
		default:
			reply.Status, f.set = heraldv1.ControlReply_STATUS_OK, next
		}
	}
	reply.Channels = f.set
	data, _ := proto.Marshal(reply)
	_ = m.Respond(data)
}

func TestControl(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.MaxChannels = 3 })
	f := &fakeConn{set: []string{"news"}, max: 3}
	sub, err := e.peer.Subscribe(channel.ControlSubject("conn1"), f.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := e.peer.Flush(); err != nil {
		t.Fatal(err)
	}
	// A bad reply from a broken replica is a 502, not a 500.
	bad, err := e.peer.Subscribe(channel.ControlSubject("broken"), func(m *nats.Msg) { _ = m.Respond([]byte{0xff, 0xff}) })
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Unsubscribe()
	if err := e.peer.Flush(); err != nil {
		t.Fatal(err)
	}

	const js = "application/json"
	ok := func(chs string) string { return `{"connection_id":"conn1","channels":` + chs + "}\n" }
	tests := []struct {
		name, method, path, ct, body string
		status                       int
		want                         string // exact body; a problem detail when status != 200
	}{
		{"get", "GET", "/api/v1/connections/conn1/channels", "", "", 200, ok(`["news"]`)},
		{"add", "POST", "/api/v1/connections/conn1/channels", js, `{"channels":["chat.*","chat.*"]}`, 200, ok(`["chat.*","news"]`)},
		{"remove", "DELETE", "/api/v1/connections/conn1/channels/chat.*", "", "", 200, ok(`["news"]`)},
		{"replace", "PUT", "/api/v1/connections/conn1/channels", js, `{"channels":["b","a",">"]}`, 200, ok(`[">","a","b"]`)},
		{"replace back", "PUT", "/api/v1/connections/conn1/channels", js, `{"channels":["news"]}`, 200, ok(`["news"]`)},
		{"add over the limit (replica says)", "POST", "/api/v1/connections/conn1/channels", js, `{"channels":["a","b","c"]}`,
			422, "the connection would have 4 channels; at most 3"},
		{"remove last (replica says)", "DELETE", "/api/v1/connections/conn1/channels/news", "", "", 422, "removing news would leave no channel"},
		{"too many in request", "PUT", "/api/v1/connections/conn1/channels", js, `{"channels":["a","b","c","d"]}`,
			422, "at most 3 channels per connection; got 4"},
		{"empty list", "PUT", "/api/v1/connections/conn1/channels", js, `{"channels":[]}`, 422, "a connection needs at least one channel"},
		{"missing list", "POST", "/api/v1/connections/conn1/channels", js, `{}`, 400, `"channels" is required`},
		{"bad name", "PUT", "/api/v1/connections/conn1/channels", js, `{"channels":["ok","a..b"]}`,
			400, `channels[1]: invalid channel "a..b": channel name tokens must be 1 or more of [A-Za-z0-9_-] separated by single dots`},
		{"bad name in path", "DELETE", "/api/v1/connections/conn1/channels/a.%3E.b", "", "", 400, `invalid channel "a.>.b": '>' may only be the last token`},
		{"unknown field", "PUT", "/api/v1/connections/conn1/channels", js, `{"channels":["a"],"op":"x"}`, 400, `unknown field "op"`},
		{"not json", "PUT", "/api/v1/connections/conn1/channels", "text/plain", `a`, 415, "Content-Type text/plain is not supported; send application/json"},
		{"bad connection id", "GET", "/api/v1/connections/a.b/channels", "", "", 400, "connection id may only hold [A-Za-z0-9_-]"},
		{"wildcard connection id", "GET", "/api/v1/connections/*/channels", "", "", 400, "connection id may only hold [A-Za-z0-9_-]"},
		{"unknown connection", "GET", "/api/v1/connections/nobody/channels", "", "", 404, "no live connection with this id"},
		{"unknown connection put", "PUT", "/api/v1/connections/nobody/channels", js, `{"channels":["a"]}`, 404, "no live connection with this id"},
		{"broken replica", "GET", "/api/v1/connections/broken/channels", "", "", 502, "the stream replica answered with an undecodable reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.ct, tt.body)
			want := tt.want
			if tt.status != http.StatusOK {
				want = problemBody(tt.status, tt.want)
			}
			if r.status != tt.status || r.body != want {
				t.Errorf("got %d %s\nwant %d %s", r.status, r.body, tt.status, want)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 || f.reqs[0].RequestId == "" {
		t.Error("control requests carry no request id")
	}
}

// TestControlTimeout: a replica that holds the subject but never answers
// is treated like no replica: 404 after api.control_timeout.
func TestControlTimeout(t *testing.T) {
	e := newEnv(t, nil)
	sub, err := e.peer.Subscribe(channel.ControlSubject("silent"), func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := e.peer.Flush(); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/connections/silent/channels", "", "")
	if r.status != 404 || r.body != problemBody(404, "no live connection with this id") {
		t.Errorf("got %d %s", r.status, r.body)
	}
}
