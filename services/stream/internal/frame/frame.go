// Package frame builds the SSE frames of the stream service: the frame of a
// stored event (encoded once, then shared by every subscriber and by replays,
// so a live event and a replayed one are byte-for-byte the same) and the
// system frames herald.connected, herald.subscribed and herald.gap, which
// carry no id so they never move a client's resume point.
package frame

import (
	"fmt"
	"strconv"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/envelope"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/stream/internal/hub"
	"github.com/herald-push/herald/services/stream/internal/sse"
	"google.golang.org/protobuf/proto"
)

// System event types.
const (
	TypeConnected  = channel.SystemTypePrefix + "connected"
	TypeSubscribed = channel.SystemTypePrefix + "subscribed"
	TypeGap        = channel.SystemTypePrefix + "gap"
)

// Builder encodes stored events. It reuses its scratch buffers, so one
// Builder belongs to one goroutine; the frames it returns are fresh slices.
type Builder struct {
	ev      heraldv1.Event
	scratch []byte
	id      [20]byte
}

// Event decodes the protobuf message stored at seq under subject and returns
// the hub event carrying its frame. The channel is taken from the subject,
// which is what JetStream filters on, so replay and live fan-out agree, and
// the envelope prints that channel (never the protobuf field's).
func (b *Builder) Event(seq uint64, subject string, data []byte) (*hub.Event, error) {
	ch, ok := channel.FromSubject(subject)
	if !ok {
		return nil, fmt.Errorf("message %d: subject %q is not an event subject", seq, subject)
	}
	b.ev.Reset()
	if err := proto.Unmarshal(data, &b.ev); err != nil {
		return nil, fmt.Errorf("message %d: decoding event: %w", seq, err)
	}
	// The subject is the one source of truth for the channel: it is what
	// subscribers are matched on, so the envelope must name it too, whatever
	// a raw NATS publisher put in the protobuf field.
	b.ev.Channel = ch
	b.scratch = envelope.Append(b.scratch[:0], &b.ev)
	typ := b.ev.GetType()
	if typ == "" {
		typ = "message"
	}
	id := strconv.AppendUint(b.id[:0], seq, 10)
	// size the frame once: fields + data + a little for line prefixes
	frame := make([]byte, 0, len(b.scratch)+len(typ)+len(id)+32)
	frame = sse.AppendEvent(frame, string(id), typ, b.scratch)
	return &hub.Event{Seq: seq, Channel: ch, Frame: frame}, nil
}

// Connected is the herald.connected frame that opens every stream. It
// carries the retry field, so the opening is one event and never an empty
// block that some clients dispatch as a message.
func Connected(connID string, channels []string, retry time.Duration) []byte {
	return sse.AppendEvent(sse.AppendRetry(nil, retry), "", TypeConnected, connJSON(connID, channels))
}

// Subscribed is the herald.subscribed frame sent after a channel change.
func Subscribed(connID string, channels []string) []byte {
	return sse.AppendEvent(nil, "", TypeSubscribed, connJSON(connID, channels))
}

// Gap is the herald.gap frame: events after `after` up to firstAvailable-1 are
// no longer retained.
func Gap(after, firstAvailable uint64) []byte {
	data := []byte(`{"after":`)
	data = strconv.AppendUint(data, after, 10)
	data = append(data, `,"first_available":`...)
	data = strconv.AppendUint(data, firstAvailable, 10)
	data = append(data, '}')
	return sse.AppendEvent(nil, "", TypeGap, data)
}

func connJSON(connID string, channels []string) []byte {
	b := []byte(`{"connection_id":`)
	b = envelope.AppendString(b, connID)
	b = append(b, `,"channels":[`...)
	for i, c := range channels {
		if i > 0 {
			b = append(b, ',')
		}
		b = envelope.AppendString(b, c)
	}
	return append(b, ']', '}')
}
