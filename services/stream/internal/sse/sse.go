// Package sse encodes Server-Sent Events frames as the WHATWG HTML standard
// ("Server-sent events", §9.2) parses them. It appends to a caller's buffer and
// allocates nothing else, because the stream service encodes every event once
// and shares the bytes with every subscriber.
//
// The encoder's one promise is that no value can break out of its field: a line
// break inside data becomes a new "data:" line of the same event, and line
// breaks or NUL inside an id or an event type are stripped (callers validate
// those, so stripping only guards against a bug upstream).
package sse

import (
	"bytes"
	"strconv"
	"time"
)

// DefaultType is the event type a browser assumes when a frame has no
// "event:" line; AppendEvent omits the line for it.
const DefaultType = "message"

// AppendEvent appends one complete event frame to dst:
//
//	id: <id>\n          (omitted when id is empty after stripping)
//	event: <typ>\n      (omitted when typ is "" or "message" after stripping)
//	data: <line>\n      (one per line of data; empty data is one empty line)
//	\n
//
// data is split on "\r\n", "\r" and "\n", as a parser splits lines, so a
// browser sees data with every line break turned into "\n". CR, LF and NUL are
// removed from id and typ: a NUL would make a browser ignore the id field, a
// line break would start a new field.
func AppendEvent(dst []byte, id, typ string, data []byte) []byte {
	if hasText(id) {
		dst = append(dst, "id: "...)
		dst = appendLine(dst, id)
		dst = append(dst, '\n')
	}
	if hasText(typ) && !isDefaultType(typ) {
		dst = append(dst, "event: "...)
		dst = appendLine(dst, typ)
		dst = append(dst, '\n')
	}
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	// The last line, possibly empty: an event with empty data still needs one
	// "data:" line, or a browser would not dispatch it at all.
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// AppendComment appends a comment frame, ": text\n\n". Browsers ignore it; it
// keeps idle connections (and the proxies on their way) alive. Line breaks and
// NUL in text are stripped.
func AppendComment(dst []byte, text string) []byte {
	dst = append(dst, ": "...)
	dst = appendLine(dst, text)
	return append(dst, '\n', '\n')
}

// AppendRetry appends the field "retry: <ms>\n", which sets the browser's
// reconnection delay. It ends no block: put it in front of an event (whose
// blank line ends both) or send it last before closing (an unterminated
// block is never dispatched). A block of its own would make clients that do
// not follow the standard to the letter (@microsoft/fetch-event-source,
// go-sse) dispatch an empty message. Negative durations are sent as 0;
// sub-millisecond parts are dropped.
func AppendRetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, max(d.Milliseconds(), 0), 10)
	return append(dst, '\n')
}

// unsafeByte reports the bytes that may not appear inside a single-line field.
func unsafeByte(c byte) bool { return c == '\r' || c == '\n' || c == 0 }

// appendLine appends s without CR, LF and NUL.
func appendLine(dst []byte, s string) []byte {
	for len(s) > 0 {
		i := 0
		for i < len(s) && !unsafeByte(s[i]) {
			i++
		}
		dst = append(dst, s[:i]...)
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return dst
}

// hasText reports whether s has a byte that appendLine keeps.
func hasText(s string) bool {
	for i := 0; i < len(s); i++ {
		if !unsafeByte(s[i]) {
			return true
		}
	}
	return false
}

// isDefaultType reports whether typ, stripped, is "message".
func isDefaultType(typ string) bool {
	j := 0
	for i := 0; i < len(typ); i++ {
		if unsafeByte(typ[i]) {
			continue
		}
		if j == len(DefaultType) || typ[i] != DefaultType[j] {
			return false
		}
		j++
	}
	return j == len(DefaultType)
}
