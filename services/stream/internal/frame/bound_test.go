package frame

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestLargestFrame backs the README's statement of the largest frame a
// subscriber can receive: data of D bytes (as the api stores it: one line)
// gives a data: line of at most D + 584 bytes and a frame of at most D + 746.
func TestLargestFrame(t *testing.T) {
	const d = 64 << 10
	ch := strings.TrimSuffix(strings.Repeat(strings.Repeat("c", 15)+".", 16), ".") // 16 tokens, 255 bytes
	typ := strings.Repeat(`"`, channel.MaxTypeBytes)                               // every byte escaped
	if len(ch) != channel.MaxBytes || channel.Validate(ch) != nil || channel.ValidateType(typ) != nil {
		t.Fatalf("not a maximal channel/type: %d bytes, %v, %v", len(ch), channel.Validate(ch), channel.ValidateType(typ))
	}
	data := []byte(`"` + strings.Repeat("x", d-2) + `"`)
	msg, _ := proto.Marshal(&heraldv1.Event{Channel: ch, Type: typ, Data: data,
		Time: timestamppb.New(time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC))})
	var b Builder
	ev, err := b.Event(math.MaxUint64, channel.Subject(ch), msg)
	if err != nil {
		t.Fatal(err)
	}
	longest := 0
	for line := range bytes.Lines(ev.Frame) {
		longest = max(longest, len(line))
	}
	t.Logf("frame %d bytes, longest line %d (data %d)", len(ev.Frame), longest, d)
	if longest > d+584 || len(ev.Frame) > d+746 {
		t.Errorf("frame %d bytes (bound %d), longest line %d (bound %d)", len(ev.Frame), d+746, longest, d+584)
	}
}
