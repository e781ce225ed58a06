// Package envelope encodes the JSON envelope of an event, as browsers see it in
// an SSE data field and in the history API:
//
//	{"channel":"news","type":"message","data":{...},"time":"2026-11-26T10:00:00.123Z"}
//
// Both services use this one encoder, so the stream and the history API can
// never disagree on the shape. It appends to a caller's buffer and allocates
// nothing beyond that buffer's growth.
package envelope

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/herald-push/herald/proto/heraldv1"
)

// TimeLayout is the envelope's time format: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Append appends the envelope of ev to dst. ev.Data must hold a valid JSON
// value (the api guarantees it); empty data is encoded as null.
func Append(dst []byte, ev *heraldv1.Event) []byte {
	return appendEnvelope(dst, "", ev)
}

// AppendWithID appends the envelope of ev with a leading "id" member holding
// the event's stream sequence as a string, as the history API returns it.
func AppendWithID(dst []byte, seq uint64, ev *heraldv1.Event) []byte {
	var buf [20]byte
	return appendEnvelope(dst, string(strconv.AppendUint(buf[:0], seq, 10)), ev)
}

func appendEnvelope(dst []byte, id string, ev *heraldv1.Event) []byte {
	dst = append(dst, '{')
	if id != "" {
		dst = append(dst, `"id":`...)
		dst = AppendString(dst, id)
		dst = append(dst, ',')
	}
	dst = append(dst, `"channel":`...)
	dst = AppendString(dst, ev.GetChannel())
	dst = append(dst, `,"type":`...)
	typ := ev.GetType()
	if typ == "" {
		typ = "message"
	}
	dst = AppendString(dst, typ)
	dst = append(dst, `,"data":`...)
	if data := ev.GetData(); len(data) > 0 {
		dst = append(dst, data...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"time":"`...)
	ts := ev.GetTime()
	dst = time.Unix(ts.GetSeconds(), int64(ts.GetNanos())).UTC().AppendFormat(dst, TimeLayout)
	dst = append(dst, '"', '}')
	return dst
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD and
// U+2028/U+2029 are escaped so the output is also safe inside JavaScript.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
