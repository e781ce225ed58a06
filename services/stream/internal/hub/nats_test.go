package hub

import (
	"slices"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/nats-io/nats.go"
)

// TestMatchesLikeNATS cross-checks the hub's routing against a real NATS
// server: for each pattern, the channels a core NATS subscription on
// herald.events.<pattern> receives are exactly the channels the hub delivers
// to a subscriber on <pattern>.
func TestMatchesLikeNATS(t *testing.T) {
	s := testkit.Core(t)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	patterns := []string{"a", "a.b", "*", ">", "a.*", "a.>", "*.b", "*.*", "*.>", "a.*.c", "a.b.>", "*.*.*", "b", "A", "a-b.c_d"}
	names := []string{"a", "b", "A", "a.b", "a.c", "b.b", "a.b.c", "a.x.c", "a.b.c.d", "x.y.z", "a-b.c_d", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p"}

	h := New(Options{QueueSize: len(names)})
	subs := make([]*Subscriber, len(patterns))
	natsSubs := make([]*nats.Subscription, len(patterns))
	for i, p := range patterns {
		if err := channel.ValidatePattern(p); err != nil {
			t.Fatalf("bad test pattern %q: %v", p, err)
		}
		subs[i], _ = h.Subscribe([]string{p})
		if natsSubs[i], err = nc.SubscribeSync(channel.Subject(p)); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range names {
		if err := nc.Publish(channel.Subject(name), nil); err != nil {
			t.Fatal(err)
		}
		h.Publish(&Event{Seq: uint64(i + 1), Channel: name})
	}
	// Flush is a PING/PONG round trip on the connection that also holds the
	// subscriptions: the server writes every message routed to them before the
	// PONG, so afterwards each subscription's pending count is final.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for i, p := range patterns {
		t.Run(p, func(t *testing.T) {
			var fromNATS []string
			pending, _, err := natsSubs[i].Pending()
			if err != nil {
				t.Fatal(err)
			}
			for range pending {
				m, err := natsSubs[i].NextMsg(time.Second)
				if err != nil {
					t.Fatal(err)
				}
				name, _ := channel.FromSubject(m.Subject)
				fromNATS = append(fromNATS, name)
			}
			var fromHub []string
			for _, e := range drain(subs[i]) {
				fromHub = append(fromHub, e.Channel)
			}
			if !slices.Equal(fromHub, fromNATS) {
				t.Errorf("pattern %q: hub delivered %q, NATS delivered %q", p, fromHub, fromNATS)
			}
		})
	}
}
