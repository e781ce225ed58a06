package sse

import (
	"bytes"
	"reflect"
	"strconv"
	"testing"
)

// This file holds a Server-Sent Events parser that follows the WHATWG HTML
// standard's "Interpreting an event stream" step by step. It lives in test code
// so the encoder is checked against the spec rather than against itself.
// Bytes are kept as bytes (a browser would also decode UTF-8 with
// replacement characters; that does not change where lines and fields end).

// parsedEvent is one dispatched event as a browser's EventSource sees it.
type parsedEvent struct {
	ID     string   // lastEventId at dispatch: the last valid id field seen so far
	Type   string   // "message" when the block had no (non-empty) event field
	Data   string   // data buffer without its final LF
	Fields []string // every field name processed in the event's block, in order
}

// parsed is everything a stream produced.
type parsed struct {
	Events   []parsedEvent
	Retries  []int64  // every retry value a browser would apply
	Comments []string // comment lines, without the leading ':'
}

// parseStream interprets a whole stream. A trailing line without an end of
// line, and an event without its blank line, are discarded as at end of file.
func parseStream(stream []byte) parsed {
	var (
		out         parsed
		data        []byte
		eventType   string
		lastEventID string
		fields      []string
	)
	stream = bytes.TrimPrefix(stream, []byte("\xEF\xBB\xBF")) // one leading BOM
	for {
		line, rest, ok := cutLine(stream)
		if !ok {
			return out
		}
		stream = rest

		if len(line) == 0 { // dispatch
			if len(data) == 0 {
				data, eventType, fields = data[:0], "", nil
				continue
			}
			ev := parsedEvent{ID: lastEventID, Type: eventType, Data: string(bytes.TrimSuffix(data, []byte("\n"))), Fields: fields}
			if ev.Type == "" {
				ev.Type = "message"
			}
			out.Events = append(out.Events, ev)
			data, eventType, fields = data[:0], "", nil
			continue
		}
		if line[0] == ':' {
			out.Comments = append(out.Comments, string(line[1:]))
			continue
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if found {
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		fields = append(fields, string(name))
		switch string(name) {
		case "event":
			eventType = string(value)
		case "data":
			data = append(append(data, value...), '\n')
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				lastEventID = string(value)
			}
		case "retry":
			if len(value) > 0 && allDigits(value) {
				n, err := strconv.ParseInt(string(value), 10, 64)
				if err == nil {
					out.Retries = append(out.Retries, n)
				}
			}
		}
	}
}

// cutLine splits off one line ended by CRLF, LF or CR.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	for i, c := range b {
		switch c {
		case '\n':
			return b[:i], b[i+1:], true
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				return b[:i], b[i+2:], true
			}
			return b[:i], b[i+1:], true
		}
	}
	return nil, nil, false
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TestParser pins the parser itself to the standard, so the encoder tests and
// the fuzz target can trust it.
func TestParser(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   parsed
	}{
		{"lf", "data: a\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: "a", Fields: []string{"data"}}}}},
		{"crlf", "id: 1\r\ndata: a\r\n\r\n", parsed{Events: []parsedEvent{{ID: "1", Type: "message", Data: "a", Fields: []string{"id", "data"}}}}},
		{"cr", "event: x\rdata: a\r\r", parsed{Events: []parsedEvent{{Type: "x", Data: "a", Fields: []string{"event", "data"}}}}},
		{"mixed line ends", "data: a\rdata: b\r\ndata: c\n\r\n", parsed{Events: []parsedEvent{{Type: "message", Data: "a\nb\nc", Fields: []string{"data", "data", "data"}}}}},
		{"leading bom stripped once", "\xEF\xBB\xBFdata: a\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: "a", Fields: []string{"data"}}}}},
		{"second bom is part of the name", "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n", parsed{}},
		{"no space after colon", "data:a\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: "a", Fields: []string{"data"}}}}},
		{"only one space removed", "data:  a\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: " a", Fields: []string{"data"}}}}},
		{"field without colon", "data\ndata\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: "\n", Fields: []string{"data", "data"}}}}},
		{"empty data line dispatches empty data", "data:\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: "", Fields: []string{"data"}}}}},
		{"no data no event", "id: 7\nevent: x\n\ndata: a\n\n", parsed{Events: []parsedEvent{{ID: "7", Type: "message", Data: "a", Fields: []string{"data"}}}}},
		{"trailing lf trimmed once", "data: a\ndata:\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: "a\n", Fields: []string{"data", "data"}}}}},
		{"comment", ": hb\n\n", parsed{Comments: []string{" hb"}}},
		{"id with nul ignored", "id: 1\n\ndata: a\nid: 2\x003\n\n", parsed{Events: []parsedEvent{{ID: "1", Type: "message", Data: "a", Fields: []string{"data", "id"}}}}},
		{"id persists, type resets", "id: 5\nevent: t\ndata: a\n\ndata: b\n\n", parsed{Events: []parsedEvent{
			{ID: "5", Type: "t", Data: "a", Fields: []string{"id", "event", "data"}},
			{ID: "5", Type: "message", Data: "b", Fields: []string{"data"}},
		}}},
		{"empty id resets", "id: 5\ndata: a\n\nid\ndata: b\n\n", parsed{Events: []parsedEvent{
			{ID: "5", Type: "message", Data: "a", Fields: []string{"id", "data"}},
			{ID: "", Type: "message", Data: "b", Fields: []string{"id", "data"}},
		}}},
		{"retry digits only", "retry: 3000\n\nretry: 1x\n\nretry:\n\nretry:  5\n\n", parsed{Retries: []int64{3000}}},
		{"unknown field ignored", "foo: bar\ndata: a\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: "a", Fields: []string{"foo", "data"}}}}},
		{"incomplete event discarded", "data: a\n\ndata: b\n", parsed{Events: []parsedEvent{{Type: "message", Data: "a", Fields: []string{"data"}}}}},
		{"unterminated line discarded", "data: a\n\ndata: b", parsed{Events: []parsedEvent{{Type: "message", Data: "a", Fields: []string{"data"}}}}},
		{"colon in value kept", "data: a:b\n\n", parsed{Events: []parsedEvent{{Type: "message", Data: "a:b", Fields: []string{"data"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseStream([]byte(tt.stream))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseStream(%q)\n got %+v\nwant %+v", tt.stream, got, tt.want)
			}
		})
	}
}
