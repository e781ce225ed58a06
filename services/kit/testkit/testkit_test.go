package testkit_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-push/herald/services/kit/testkit"
)

// TestRestartKeepsPortAndStore: a stream created before Restart is there
// after it, at the same URL, and a client that reconnects finds it.
func TestRestartKeepsPortAndStore(t *testing.T) {
	n := testkit.StartNATS(t, &server.Options{JetStream: true})
	url := n.URL()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}}); err != nil {
		t.Fatal(err)
	}
	n.Restart()
	if n.URL() != url || n.Server().ClientURL() != url {
		t.Fatalf("after restart %s (server %s), want %s", n.URL(), n.Server().ClientURL(), url)
	}
	testkit.Eventually(t, 10*time.Second, nc.IsConnected, "the client to reconnect")
	testkit.Eventually(t, 10*time.Second, func() bool { _, err := js.Stream(ctx, "S"); return err == nil }, "the stream after restart")
}

func TestCoreHasNoJetStream(t *testing.T) {
	if s := testkit.Core(t); s.JetStreamEnabled() {
		t.Fatal("Core has JetStream")
	}
	if s := testkit.JetStream(t); !s.JetStreamEnabled() {
		t.Fatal("JetStream has none")
	}
}
