package jsread_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-push/herald/services/kit/jsread"
	"github.com/herald-push/herald/services/kit/testkit"
)

// TestReadLeavesNothing: a read from a start sequence with two filters sees
// the matching messages in order, bounded per pull in bytes (one message
// larger than the bound comes alone when unbounded), and leaves no consumer.
func TestReadLeavesNothing(t *testing.T) {
	nc, err := nats.Connect(testkit.JetStream(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ subj, data string }{{"s.a", "1"}, {"s.b", "2"}, {"s.c", "3"}, {"s.a", strings.Repeat("x", 4096)}, {"s.b", "5"}} {
		if _, err := js.Publish(ctx, p.subj, []byte(p.data)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := jsread.Open(ctx, st, "test", 2, "s.a", "s.b")
	if err != nil {
		t.Fatal(err)
	}
	if r.Pending() != 3 {
		t.Fatalf("pending %d, want 3 (seqs 2, 4, 5)", r.Pending())
	}
	seqs := func(b jetstream.MessageBatch, err error) []uint64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for m := range b.Messages() {
			md, _ := m.Metadata()
			out = append(out, md.Sequence.Stream)
		}
		return out
	}
	if got := seqs(r.Pull(3, 1024, time.Second)); len(got) != 1 || got[0] != 2 {
		t.Fatalf("first pull %v, want [2] (seq 4 is over the byte bound)", got)
	}
	if got := seqs(r.Pull(1, 0, time.Second)); len(got) != 1 || got[0] != 4 {
		t.Fatalf("unbounded pull %v, want [4]", got)
	}
	r.Close(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if n := len(names(t, st)); n != 0 {
		t.Fatalf("%d consumers left after Close", n)
	}
}

func names(t *testing.T, st jetstream.Stream) []string {
	t.Helper()
	var out []string
	l := st.ConsumerNames(context.Background())
	for n := range l.Name() {
		out = append(out, n)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
