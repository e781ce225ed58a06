package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// control sends a request as the api does and returns the reply.
func control(t *testing.T, nc *nats.Conn, connID string, op heraldv1.ControlRequest_Op, channels ...string) (*heraldv1.ControlReply, error) {
	t.Helper()
	data, err := proto.Marshal(&heraldv1.ControlRequest{Op: op, Channels: channels, RequestId: "test", Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nc.Request(channel.ControlSubject(connID), data, 5*time.Second)
	if err != nil {
		return nil, err
	}
	var r heraldv1.ControlReply
	if err := proto.Unmarshal(msg.Data, &r); err != nil {
		t.Fatal(err)
	}
	return &r, nil
}

func TestControlChangesChannels(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.MaxChannels = 3 })
	nc, _ := streamtest.Connect(t, e.nats.URL())
	c, id := a.open(t, nil, "a")

	steps := []struct {
		name   string
		op     heraldv1.ControlRequest_Op
		chans  []string
		status heraldv1.ControlReply_Status
		want   []string // the set after the step
	}{
		{"replace", heraldv1.ControlRequest_OP_REPLACE, []string{"b", "c.*"}, heraldv1.ControlReply_STATUS_OK, []string{"b", "c.*"}},
		{"add", heraldv1.ControlRequest_OP_ADD, []string{"a", "b"}, heraldv1.ControlReply_STATUS_OK, []string{"a", "b", "c.*"}},
		{"add beyond the limit", heraldv1.ControlRequest_OP_ADD, []string{"d"}, heraldv1.ControlReply_STATUS_TOO_MANY_CHANNELS, []string{"a", "b", "c.*"}},
		{"invalid name", heraldv1.ControlRequest_OP_REPLACE, []string{"a..b"}, heraldv1.ControlReply_STATUS_INVALID_CHANNEL, []string{"a", "b", "c.*"}},
		{"remove", heraldv1.ControlRequest_OP_REMOVE, []string{"a", "c.*", "zz"}, heraldv1.ControlReply_STATUS_OK, []string{"b"}},
		{"remove the last one", heraldv1.ControlRequest_OP_REMOVE, []string{"b"}, heraldv1.ControlReply_STATUS_EMPTY, []string{"b"}},
		{"replace with nothing", heraldv1.ControlRequest_OP_REPLACE, nil, heraldv1.ControlReply_STATUS_EMPTY, []string{"b"}},
		{"get", heraldv1.ControlRequest_OP_GET, nil, heraldv1.ControlReply_STATUS_OK, []string{"b"}},
		{"unknown op", heraldv1.ControlRequest_OP_UNSPECIFIED, []string{"a"}, heraldv1.ControlReply_STATUS_BAD_REQUEST, []string{"b"}},
		{"replace with a wildcard", heraldv1.ControlRequest_OP_REPLACE, []string{"x.>", "a"}, heraldv1.ControlReply_STATUS_OK, []string{"a", "x.>"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r, err := control(t, nc, id, s.op, s.chans...)
			if err != nil {
				t.Fatal(err)
			}
			if r.GetStatus() != s.status || !slices.Equal(r.GetChannels(), s.want) {
				t.Fatalf("reply %v %q (%s); want %v %q", r.GetStatus(), r.GetChannels(), r.GetDetail(), s.status, s.want)
			}
			if s.status != heraldv1.ControlReply_STATUS_OK || s.op == heraldv1.ControlRequest_OP_GET {
				return
			}
			sub, ok := c.Next(5 * time.Second)
			wantData := `{"connection_id":"` + id + `","channels":["` + strings.Join(s.want, `","`) + `"]}`
			if !ok || sub.Type != "herald.subscribed" || sub.HasID || sub.Data != wantData {
				t.Fatalf("got %+v; want herald.subscribed %s", sub, wantData)
			}
			// Exactly the new set's events flow from now on.
			var want []ssetest.Item
			for _, ch := range []string{"a", "b", "c.1", "x.y.z", "d"} {
				seq := streamtest.Publish(t, e.js, ch, "", `"`+ch+`"`)
				if matchAny(s.want, ch) {
					want = append(want, ev(seq, ch, "", `"`+ch+`"`))
				}
			}
			expectEvents(t, c, want)
		})
	}
}

func TestControlUnknownConnectionGetsNoReply(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	startApp(t, e.nats.URL(), true, nil)
	nc, _ := streamtest.Connect(t, e.nats.URL())
	data, _ := proto.Marshal(&heraldv1.ControlRequest{Op: heraldv1.ControlRequest_OP_GET, Anonymous: true})
	_, err := nc.Request(channel.ControlSubject("no-such-connection"), data, 300*time.Millisecond)
	if err != nats.ErrTimeout {
		t.Fatalf("err = %v, want a timeout (nobody answers)", err)
	}
}

// With two replicas on one NATS, only the replica holding the connection
// answers; the other one sees the request and stays silent.
func TestControlOnlyOwnerAnswers(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, nil)
	b := startApp(t, e.nats.URL(), true, nil)
	_, idA := a.open(t, nil, "x")
	_, idB := b.open(t, nil, "y")
	nc, _ := streamtest.Connect(t, e.nats.URL())

	replies := make(chan *nats.Msg, 16)
	inbox := nats.NewInbox()
	sub, err := nc.ChanSubscribe(inbox, replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	get, _ := proto.Marshal(&heraldv1.ControlRequest{Op: heraldv1.ControlRequest_OP_GET, Anonymous: true})
	if err := nc.PublishRequest(channel.ControlSubject(idA), inbox, get); err != nil {
		t.Fatal(err)
	}
	// B handles requests one at a time in order: once it answered a request
	// for its own connection, it has handled (and ignored) the one for A,
	// and any reply it had sent would have reached us before this one.
	r, err := control(t, nc, idB, heraldv1.ControlRequest_OP_GET)
	if err != nil || !slices.Equal(r.GetChannels(), []string{"y"}) {
		t.Fatalf("B's own connection: %v %v", r, err)
	}
	first := <-replies
	var ra heraldv1.ControlReply
	if err := proto.Unmarshal(first.Data, &ra); err != nil || !slices.Equal(ra.GetChannels(), []string{"x"}) {
		t.Fatalf("reply for A's connection: %v %v", &ra, err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(replies); n != 0 {
		t.Fatalf("%d extra replies for A's connection", n)
	}
}
