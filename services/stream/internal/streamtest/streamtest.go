// Package streamtest holds the stream service's test fixtures: a publisher
// that stores events exactly as the api does (protobuf on
// herald.events.<channel>) and the envelope the stream sends for them. The
// NATS server and the SSE client are in kit/testkit. Only tests import it.
package streamtest

import (
	"context"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Connect returns a client connection to url, reconnecting forever (across
// a testkit.NATS restart), closed at the end of the test.
func Connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
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
		Channel: ch, Type: typ, Data: []byte(data),
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
