package app_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
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
