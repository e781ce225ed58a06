package store

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/nats-io/nats.go"
)

// An ack that has already arrived must win over a context that is done too:
// answering 503 for a stored event makes the client publish it again.
func TestAwaitPrefersArrivedAck(t *testing.T) {
	ns := testkit.JetStream(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s, err := New(nc, config.Default().Events, 5*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.js.CreateOrUpdateStream(context.Background(), s.StreamConfig()); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	// select chooses at random among ready cases: 64 tries would all pass by
	// chance with probability 2^-64.
	for i := range 64 {
		f, err := s.js.PublishAsync(channel.Subject("await"), []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.js.PublishAsyncComplete():
		case <-time.After(10 * time.Second):
			t.Fatal("no ack")
		}
		seq, _, err := s.await(done, f)
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("publish %d: seq %d, err %v; want the arrived ack %d", i, seq, err, i+1)
		}
	}
}
