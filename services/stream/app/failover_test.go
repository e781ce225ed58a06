package app_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/kit/natstest"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go/jetstream"
)

// consumerNames lists the consumers on the event stream.
func consumerNames(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	st, err := js.Stream(context.Background(), channel.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	l := st.ConsumerNames(context.Background())
	for n := range l.Name() {
		out = append(out, n)
	}
	if l.Err() != nil {
		t.Fatal(l.Err())
	}
	return out
}

// TestConsumerFailover: the replica's consumer disappears from under it (as
// when the server holding it dies); it is recreated from the next sequence,
// the failover is counted by reason, and the client gets every event once,
// in order.
func TestConsumerFailover(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, nil)
	c, _ := a.open(t, nil, "news")

	var all []published
	for i := range 10 {
		all = append(all, published{streamtest.Publish(t, e.js, "news", "", strconv.Itoa(i)), "news"})
	}
	a.waitSeq(t, all[len(all)-1].seq)
	names := consumerNames(t, e.js)
	if len(names) != 1 {
		t.Fatalf("consumers before = %v, want one", names)
	}
	if err := e.js.DeleteConsumer(context.Background(), channel.StreamName, names[0]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool {
		return contains(a.metrics(t), "herald_stream_consumer_starts_total 2")
	}, "the consumer to be recreated")
	m := a.metrics(t)
	if !contains(m, `herald_stream_consumer_restarts_total{reason="deleted"} 1`) &&
		!contains(m, `herald_stream_consumer_restarts_total{reason="no_heartbeat"} 1`) {
		t.Errorf("restart not counted:\n%s", grepLines(m, "consumer_restarts"))
	}
	for i := 10; i < 20; i++ {
		all = append(all, published{streamtest.Publish(t, e.js, "news", "", strconv.Itoa(i)), "news"})
	}
	expectExactly(t, c, all, 0, "news")
	a.waitStatus(t, "/readyz", 200)
	if n := consumerNames(t, e.js); len(n) != 1 || n[0] == names[0] {
		t.Errorf("consumers after = %v, want one new one (old %s)", n, names[0])
	}
}

// TestConsumerStall: the NATS server stops answering without closing the
// connection (a frozen node). The consumer's missed heartbeats are noticed
// and counted, /readyz turns 503, and once the server answers again the
// consumer is recreated from the next sequence: the client gets every event
// published meanwhile, once, in order.
func TestConsumerStall(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	f := natstest.NewFreezer(t, strings.TrimPrefix(e.nats.URL(), "nats://"))
	a := startApp(t, f.URL(), true, nil)
	c, _ := a.open(t, nil, "news")
	var all []published
	for i := range 5 {
		all = append(all, published{streamtest.Publish(t, e.js, "news", "", strconv.Itoa(i)), "news"})
	}
	a.waitSeq(t, all[len(all)-1].seq)

	f.Freeze()
	for i := 5; i < 10; i++ { // stored while the replica's link is frozen
		all = append(all, published{streamtest.Publish(t, e.js, "news", "", strconv.Itoa(i)), "news"})
	}
	a.waitStatus(t, "/readyz", 503)
	eventually(t, 10*time.Second, func() bool {
		return contains(a.metrics(t), `herald_stream_consumer_restarts_total{reason="no_heartbeat"}`)
	}, "the stall to be counted")
	f.Thaw()
	for i := 10; i < 15; i++ {
		all = append(all, published{streamtest.Publish(t, e.js, "news", "", strconv.Itoa(i)), "news"})
	}
	expectExactly(t, c, all, 0, "news")
	a.waitStatus(t, "/readyz", 200)
}

// grepLines returns the lines of s containing sub, for failure messages.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
