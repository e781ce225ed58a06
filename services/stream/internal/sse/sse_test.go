package sse

import (
	"reflect"
	"testing"
	"time"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name      string
		id, typ   string
		data      string
		want      string
		wantEvent parsedEvent
	}{
		{"data only", "", "", `{"a":1}`, "data: {\"a\":1}\n\n",
			parsedEvent{Type: "message", Data: `{"a":1}`, Fields: []string{"data"}}},
		{"id type data", "1042", "chat", `{}`, "id: 1042\nevent: chat\ndata: {}\n\n",
			parsedEvent{ID: "1042", Type: "chat", Data: `{}`, Fields: []string{"id", "event", "data"}}},
		{"message type omitted", "7", "message", "x", "id: 7\ndata: x\n\n",
			parsedEvent{ID: "7", Type: "message", Data: "x", Fields: []string{"id", "data"}}},
		{"empty data still dispatches", "", "herald.ping", "", "event: herald.ping\ndata: \n\n",
			parsedEvent{Type: "herald.ping", Data: "", Fields: []string{"event", "data"}}},
		{"lf lines", "", "", "a\nb", "data: a\ndata: b\n\n",
			parsedEvent{Type: "message", Data: "a\nb", Fields: []string{"data", "data"}}},
		{"crlf and cr lines", "", "", "a\r\nb\rc", "data: a\ndata: b\ndata: c\n\n",
			parsedEvent{Type: "message", Data: "a\nb\nc", Fields: []string{"data", "data", "data"}}},
		{"trailing newline kept", "", "", "a\n", "data: a\ndata: \n\n",
			parsedEvent{Type: "message", Data: "a\n", Fields: []string{"data", "data"}}},
		{"blank lines cannot end the event", "", "", "a\n\nid: 9\n\nb", "data: a\ndata: \ndata: id: 9\ndata: \ndata: b\n\n",
			parsedEvent{Type: "message", Data: "a\n\nid: 9\n\nb", Fields: []string{"data", "data", "data", "data", "data"}}},
		{"cr lf pair split across lines", "", "", "\r\r\n\n", "data: \ndata: \ndata: \ndata: \n\n",
			parsedEvent{Type: "message", Data: "\n\n\n", Fields: []string{"data", "data", "data", "data"}}},
		{"leading space preserved", "", "", " a", "data:  a\n\n",
			parsedEvent{Type: "message", Data: " a", Fields: []string{"data"}}},
		{"nul in data kept", "", "", "a\x00b", "data: a\x00b\n\n",
			parsedEvent{Type: "message", Data: "a\x00b", Fields: []string{"data"}}},
		{"line breaks and nul stripped from id and type", "1\r\n2\x00", "a\nb\rc", "x", "id: 12\nevent: abc\ndata: x\n\n",
			parsedEvent{ID: "12", Type: "abc", Data: "x", Fields: []string{"id", "event", "data"}}},
		{"id of only line breaks omitted", "\r\n", "\n", "x", "data: x\n\n",
			parsedEvent{Type: "message", Data: "x", Fields: []string{"data"}}},
		{"stripped message type omitted", "", "mes\nsage", "x", "data: x\n\n",
			parsedEvent{Type: "message", Data: "x", Fields: []string{"data"}}},
		{"type that only starts like message", "", "messages", "x", "event: messages\ndata: x\n\n",
			parsedEvent{Type: "messages", Data: "x", Fields: []string{"event", "data"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendEvent([]byte("prefix"), tt.id, tt.typ, []byte(tt.data))
			if string(got) != "prefix"+tt.want {
				t.Fatalf("AppendEvent(%q, %q, %q)\n got %q\nwant %q", tt.id, tt.typ, tt.data, got[len("prefix"):], tt.want)
			}
			p := parseStream(got[len("prefix"):])
			if len(p.Events) != 1 || !reflect.DeepEqual(p.Events[0], tt.wantEvent) || p.Retries != nil || p.Comments != nil {
				t.Errorf("parsed %+v, want one event %+v", p, tt.wantEvent)
			}
		})
	}
}

func TestAppendComment(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"hb", ": hb\n\n"},
		{"", ": \n\n"},
		{"a\r\nb\x00\nc", ": abc\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := AppendComment(nil, tt.text)
			if string(got) != tt.want {
				t.Fatalf("AppendComment(%q) = %q, want %q", tt.text, got, tt.want)
			}
			if p := parseStream(got); p.Events != nil || len(p.Comments) != 1 {
				t.Errorf("parsed %+v, want exactly one comment", p)
			}
		})
	}
}

func TestAppendRetry(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{3 * time.Second, "retry: 3000\n"},
		{1500*time.Millisecond + 999*time.Microsecond, "retry: 1500\n"},
		{0, "retry: 0\n"},
		{-time.Second, "retry: 0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			got := AppendRetry(nil, tt.d)
			if string(got) != tt.want {
				t.Fatalf("AppendRetry(%v) = %q, want %q", tt.d, got, tt.want)
			}
			if p := parseStream(got); p.Events != nil || len(p.Retries) != 1 {
				t.Errorf("parsed %+v, want exactly one retry", p)
			}
		})
	}
}

// TestAppendAllocs guards the fan-out path: encoding into a buffer with room
// must not allocate.
func TestAppendAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	data := []byte("{\"channel\":\"news\",\n\"data\":{\"a\":1}}")
	n := testing.AllocsPerRun(100, func() {
		b := AppendEvent(buf[:0], "1042", "update\n", data)
		b = AppendComment(b, "hb")
		_ = AppendRetry(b, 3*time.Second)
	})
	if n != 0 {
		t.Errorf("allocs per run = %v, want 0", n)
	}
}

// BenchmarkAppendEvent measures encoding one typical event (a one-line JSON
// envelope of ~140 bytes with an id and a type) into a reused buffer.
func BenchmarkAppendEvent(b *testing.B) {
	data := []byte(`{"channel":"news","type":"update","data":{"title":"Herald ships","body":"one line of text"},"time":"2026-11-26T10:00:00.123Z"}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		buf = AppendEvent(buf[:0], "1042", "update", data)
	}
}

// BenchmarkAppendEventMultiline is the slower path: pretty-printed data.
func BenchmarkAppendEventMultiline(b *testing.B) {
	data := []byte("{\n  \"channel\": \"news\",\n  \"data\": {\n    \"a\": 1\n  }\n}")
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		buf = AppendEvent(buf[:0], "1042", "update", data)
	}
}
