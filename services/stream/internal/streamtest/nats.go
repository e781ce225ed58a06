// Package streamtest holds the stream service's test fixtures: an embedded
// NATS JetStream server (restartable on the same store), a publisher that
// stores events exactly as the api does (protobuf on herald.events.<channel>),
// and an SSE client that parses responses by the WHATWG rules. Only tests
// import it.
package streamtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// NATS is an embedded JetStream server that can be restarted on the same port
// and store directory.
type NATS struct {
	t     testing.TB
	store string
	port  int
	srv   *server.Server
}

// StartNATS starts a JetStream server on a free loopback port with its store
// in a fresh temporary directory; it is shut down when the test ends.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	n := &NATS{t: t, store: t.TempDir(), port: -1}
	n.start()
	n.port = n.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { n.Stop() })
	return n
}

func (n *NATS) start() {
	n.t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.store,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		n.t.Fatalf("starting nats: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats did not become ready")
	}
	n.srv = s
}

// URL is the client URL of the server.
func (n *NATS) URL() string { return n.srv.ClientURL() }

// Stop shuts the server down (idempotent).
func (n *NATS) Stop() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// Restart stops the server and starts it again on the same port and store,
// as a NATS restart in production would.
func (n *NATS) Restart() {
	n.t.Helper()
	n.Stop()
	n.start()
}

// Connect returns a client connection closed at the end of the test.
func (n *NATS) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(n.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connecting to nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// CreateStream creates HERALD_EVENTS as the api does (file storage).
func CreateStream(t testing.TB, js jetstream.JetStream, cfg jetstream.StreamConfig) jetstream.Stream {
	t.Helper()
	cfg.Name = channel.StreamName
	cfg.Subjects = []string{channel.StreamSubjects}
	cfg.Storage = jetstream.FileStorage
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		t.Fatalf("creating stream: %v", err)
	}
	return st
}

// Publish stores one event as the api would and returns its sequence (the
// SSE id). data must be a JSON value.
func Publish(t testing.TB, js jetstream.JetStream, ch, typ, data string) uint64 {
	t.Helper()
	seq, err := TryPublish(js, ch, typ, data)
	if err != nil {
		t.Fatalf("publishing to %s: %v", ch, err)
	}
	return seq
}

// TryPublish is Publish returning the error (for use off the test goroutine).
func TryPublish(js jetstream.JetStream, ch, typ, data string) (uint64, error) {
	b, err := proto.Marshal(&heraldv1.Event{
		Channel: ch, Type: typ, Data: []byte(data), ContentType: "application/json",
		Time: timestamppb.New(time.Date(2026, 11, 26, 10, 0, 0, 123e6, time.UTC)),
	})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := js.Publish(ctx, channel.Subject(ch), b)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// Envelope is the data field the stream sends for an event Publish stored.
func Envelope(ch, typ, data string) string {
	if typ == "" {
		typ = "message"
	}
	return `{"channel":"` + ch + `","type":"` + typ + `","data":` + data + `,"time":"2026-11-26T10:00:00.123Z"}`
}

// Server is the embedded server, for tests that read its own view (varz:
// slow consumers; connz: whether a client reconnected).
func (n *NATS) Server() *server.Server { return n.srv }
