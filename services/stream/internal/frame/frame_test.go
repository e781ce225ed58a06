package frame

import (
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestEventFrameExact(t *testing.T) {
	ts := timestamppb.New(time.Date(2026, 11, 26, 10, 0, 0, 123e6, time.UTC))
	tests := []struct {
		name string
		ev   *heraldv1.Event
		want string
	}{
		{"default type", &heraldv1.Event{Channel: "news", Data: []byte(`{"a":1}`), Time: ts},
			"id: 42\ndata: {\"channel\":\"news\",\"type\":\"message\",\"data\":{\"a\":1},\"time\":\"2026-11-26T10:00:00.123Z\"}\n\n"},
		{"explicit message type", &heraldv1.Event{Channel: "news", Type: "message", Data: []byte(`1`), Time: ts},
			"id: 42\ndata: {\"channel\":\"news\",\"type\":\"message\",\"data\":1,\"time\":\"2026-11-26T10:00:00.123Z\"}\n\n"},
		{"custom type, pretty JSON data stays one line per line", &heraldv1.Event{Channel: "news", Type: "said", Data: []byte("{\n\"a\": 1\n}"), Time: ts},
			"id: 42\nevent: said\ndata: {\"channel\":\"news\",\"type\":\"said\",\"data\":{\ndata: \"a\": 1\ndata: },\"time\":\"2026-11-26T10:00:00.123Z\"}\n\n"},
	}
	var b Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := proto.Marshal(tt.ev)
			ev, err := b.Event(42, channel.Subject("news"), data)
			if err != nil {
				t.Fatal(err)
			}
			if string(ev.Frame) != tt.want || ev.Seq != 42 || ev.Channel != "news" {
				t.Fatalf("got %d %q %q\nwant %q", ev.Seq, ev.Channel, ev.Frame, tt.want)
			}
		})
	}
}

func TestEventFrameErrors(t *testing.T) {
	var b Builder
	if _, err := b.Event(1, "other.subject", nil); err == nil {
		t.Fatal("a non-event subject must be refused")
	}
	if _, err := b.Event(1, channel.Subject("news"), []byte{0xff, 0xff}); err == nil {
		t.Fatal("garbage must be refused")
	}
}

// Frames of earlier events stay intact when the Builder is reused.
func TestFramesAreNotShared(t *testing.T) {
	var b Builder
	d1, _ := proto.Marshal(&heraldv1.Event{Channel: "a", Data: []byte(`"first"`)})
	d2, _ := proto.Marshal(&heraldv1.Event{Channel: "a", Data: []byte(`"second, longer"`)})
	e1, _ := b.Event(1, channel.Subject("a"), d1)
	want := string(e1.Frame)
	if _, err := b.Event(2, channel.Subject("a"), d2); err != nil {
		t.Fatal(err)
	}
	if string(e1.Frame) != want {
		t.Fatalf("first frame changed to %q", e1.Frame)
	}
}

func TestSystemFramesExact(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{string(Connected("abc", []string{"chat.*", "news"}, 2500*time.Millisecond)), "retry: 2500\nevent: herald.connected\ndata: {\"connection_id\":\"abc\",\"channels\":[\"chat.*\",\"news\"]}\n\n"},
		{string(Subscribed("abc", []string{"x"})), "event: herald.subscribed\ndata: {\"connection_id\":\"abc\",\"channels\":[\"x\"]}\n\n"},
		{string(Gap(2, 8)), "event: herald.gap\ndata: {\"after\":2,\"first_available\":8}\n\n"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q\nwant %q", tt.got, tt.want)
		}
	}
}

func BenchmarkEvent(b *testing.B) {
	data, _ := proto.Marshal(&heraldv1.Event{Channel: "news", Type: "said", Data: []byte(`{"text":"hello world"}`)})
	subj := channel.Subject("news")
	var bd Builder
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := bd.Event(uint64(i), subj, data); err != nil {
			b.Fatal(err)
		}
	}
}

// A message whose protobuf channel disagrees with its subject (anyone who can
// publish to NATS can send one) is labelled with the subject's channel, the
// one subscribers were matched on.
func TestEventChannelComesFromSubject(t *testing.T) {
	var b Builder
	data, _ := proto.Marshal(&heraldv1.Event{Channel: "admin.secret", Data: []byte(`1`)})
	ev, err := b.Event(7, channel.Subject("chat.lobby"), data)
	if err != nil {
		t.Fatal(err)
	}
	want := "id: 7\ndata: {\"channel\":\"chat.lobby\",\"type\":\"message\",\"data\":1,\"time\":\"1970-01-01T00:00:00.000Z\"}\n\n"
	if ev.Channel != "chat.lobby" || string(ev.Frame) != want {
		t.Fatalf("got %q %q, want chat.lobby %q", ev.Channel, ev.Frame, want)
	}
}
