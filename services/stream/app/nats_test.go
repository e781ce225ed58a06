package app_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// The service starts before the api has created the event stream: it is not
// ready, then catches up as soon as the stream exists.
func TestWaitsForTheStream(t *testing.T) {
	n := testkit.StartNATS(t, &server.Options{JetStream: true})
	a := startApp(t, n.URL(), false, nil)
	a.waitStatus(t, "/healthz", 200)
	a.waitStatus(t, "/readyz", 503)
	_, js := streamtest.Connect(t, n.URL())
	streamtest.CreateStream(t, js, jetstream.StreamConfig{})
	a.waitStatus(t, "/readyz", 200)
	c, _ := a.open(t, nil, "news")
	seq := streamtest.Publish(t, js, "news", "", "1")
	expectEvents(t, c, []ssetest.Item{ev(seq, "news", "", "1")})
}

// NATS restarts (same store) mid-stream: the consumer recovers after the
// last sequence the hub saw, and the client receives every acknowledged
// event once, in order.
func TestNATSRestartLosesNothing(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, nil)
	c, _ := a.open(t, nil, "news")

	var all []published
	for i := range 20 {
		all = append(all, published{streamtest.Publish(t, e.js, "news", "", strconv.Itoa(i)), "news"})
	}
	a.waitSeq(t, all[len(all)-1].seq)
	e.nats.Restart()
	// Publish as the api would: retry until NATS is back, never lose an ack.
	for i := 20; i < 40; i++ {
		var seq uint64
		testkit.Eventually(t, 20*time.Second, func() bool {
			s, err := streamtest.TryPublish(e.js, "news", "", strconv.Itoa(i))
			seq = s
			return err == nil
		}, "publishing after the restart")
		all = append(all, published{seq, "news"})
	}
	expectExactly(t, c, all, 0, "news")

	// The recovered consumer is the only one on the stream.
	st, err := e.js.Stream(context.Background(), channel.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, func() bool {
		n := 0
		l := st.ConsumerNames(context.Background())
		for range l.Name() {
			n++
		}
		return l.Err() == nil && n == 1
	}, "one consumer after the restart")
	a.waitStatus(t, "/readyz", 200)
}
