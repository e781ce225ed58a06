package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type got struct {
	Type, Data, ID string
	HasID          bool
}

func readAll(t *testing.T, src io.Reader, size int) ([]got, *Reader) {
	t.Helper()
	r := NewReader(src, size, 1<<16)
	var out []got
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, r
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, got{string(ev.Type), string(ev.Data), string(ev.ID), ev.HasID})
	}
}

func TestReaderSpec(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  []got
		retry int64
	}{
		{"simple", "data: hi\n\n", []got{{"message", "hi", "", false}}, -1},
		{"multi data lines joined by LF", "data: a\ndata: b\n\n", []got{{"message", "a\nb", "", false}}, -1},
		{"no space after colon", "data:x\n\n", []got{{"message", "x", "", false}}, -1},
		{"only one leading space stripped", "data:  x\n\n", []got{{"message", " x", "", false}}, -1},
		{"field without colon is empty value", "data\n\n", []got{{"message", "", "", false}}, -1},
		{"empty data line then data", "data\ndata\n\n", []got{{"message", "\n", "", false}}, -1},
		{"event type and id", "id: 42\nevent: chat\ndata: {}\n\n", []got{{"chat", "{}", "42", true}}, -1},
		{"id persists to next event", "id: 7\ndata: a\n\ndata: b\n\n", []got{{"message", "a", "7", true}, {"message", "b", "7", false}}, -1},
		{"empty id resets", "id: 7\ndata: a\n\nid\ndata: b\n\n", []got{{"message", "a", "7", true}, {"message", "b", "", true}}, -1},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", []got{{"message", "a", "1", true}, {"message", "b", "1", false}}, -1},
		{"comment ignored", ": hb\n\n: another\ndata: x\n\n", []got{{"message", "x", "", false}}, -1},
		{"no data no dispatch, type reset", "event: foo\n\ndata: x\n\n", []got{{"message", "x", "", false}}, -1},
		{"CRLF", "data: a\r\ndata: b\r\n\r\n", []got{{"message", "a\nb", "", false}}, -1},
		{"lone CR", "data: a\rdata: b\r\r", []got{{"message", "a\nb", "", false}}, -1},
		{"mixed endings", "data: a\r\ndata: b\rdata: c\n\r\n", []got{{"message", "a\nb\nc", "", false}}, -1},
		{"BOM stripped", "\xEF\xBB\xBFdata: x\n\n", []got{{"message", "x", "", false}}, -1},
		{"only first BOM stripped", "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n", nil, -1},
		{"unknown field ignored", "foo: bar\ndata: x\n\n", []got{{"message", "x", "", false}}, -1},
		{"retry digits", "retry: 1500\n\n", nil, 1500},
		{"retry non digits ignored", "retry: 15x\n\n", nil, -1},
		{"unterminated event discarded at EOF", "data: a\n\ndata: b\n", []got{{"message", "a", "", false}}, -1},
		{"field name is case sensitive", "Data: x\n\n", nil, -1},
		{"colon in value kept", "data: a:b\n\n", []got{{"message", "a:b", "", false}}, -1},
		{"herald frame", "id: 1042\nevent: news\ndata: {\"channel\":\"news\"}\n\n", []got{{"news", "{\"channel\":\"news\"}", "1042", true}}, -1},
	}
	for _, tt := range tests {
		// Read byte by byte too, so a terminator split across reads is covered.
		for _, mode := range []string{"whole", "onebyte"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				var src io.Reader = strings.NewReader(tt.in)
				if mode == "onebyte" {
					src = iotest.OneByteReader(src)
				}
				out, r := readAll(t, src, 64)
				if len(out) != len(tt.want) {
					t.Fatalf("got %d events %+v, want %+v", len(out), out, tt.want)
				}
				for i := range out {
					if out[i] != tt.want[i] {
						t.Errorf("event %d = %+v, want %+v", i, out[i], tt.want[i])
					}
				}
				if r.Retry() != tt.retry {
					t.Errorf("retry = %d, want %d", r.Retry(), tt.retry)
				}
			})
		}
	}
}

func TestReaderLongLineGrowsThenFails(t *testing.T) {
	long := strings.Repeat("x", 1000)
	out, _ := readAll(t, strings.NewReader("data: "+long+"\n\n"), 64)
	if len(out) != 1 || out[0].Data != long {
		t.Fatalf("long line not read: %d events", len(out))
	}
	r := NewReader(strings.NewReader("data: "+long+"\n\n"), 64, 128)
	if _, err := r.Next(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
}

func TestReaderCommentsCounted(t *testing.T) {
	_, r := readAll(t, strings.NewReader(": hb\n: hb\n"), 64)
	if r.Comments() != 2 {
		t.Fatalf("comments = %d, want 2", r.Comments())
	}
}

// loop replays the same frame forever, to measure steady-state cost.
type loop struct {
	frame []byte
	off   int
}

func (l *loop) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.frame[l.off:])
		n += c
		l.off = (l.off + c) % len(l.frame)
	}
	return n, nil
}

func TestReaderNoAllocsPerEvent(t *testing.T) {
	frame := []byte("id: 123456\nevent: bench\ndata: {\"channel\":\"b\",\"type\":\"bench\",\"data\":{\"c\":0,\"s\":1,\"t\":1764150000000000000}}\n\n")
	r := NewReader(&loop{frame: frame}, 4096, 1<<16)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs per event = %v, want 0", allocs)
	}
}

func BenchmarkReader(b *testing.B) {
	frame := []byte("id: 123456\nevent: bench\ndata: {\"channel\":\"b\",\"type\":\"bench\",\"data\":{\"c\":0,\"s\":1,\"t\":1764150000000000000}}\n\n")
	r := NewReader(&loop{frame: frame}, 4096, 1<<16)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
