package envelope

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/herald-push/herald/proto/heraldv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestAppend(t *testing.T) {
	ts := timestamppb.New(time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC))
	tests := []struct {
		name string
		ev   *heraldv1.Event
		want string
	}{
		{"object", &heraldv1.Event{Channel: "news", Type: "message", Data: []byte(`{"a":1}`), Time: ts},
			`{"channel":"news","type":"message","data":{"a":1},"time":"2026-11-26T10:00:00.123Z"}`},
		{"default type", &heraldv1.Event{Channel: "a.b", Data: []byte(`"hi"`), Time: ts},
			`{"channel":"a.b","type":"message","data":"hi","time":"2026-11-26T10:00:00.123Z"}`},
		{"no data", &heraldv1.Event{Channel: "x", Type: "t", Time: ts},
			`{"channel":"x","type":"t","data":null,"time":"2026-11-26T10:00:00.123Z"}`},
		{"escaped type", &heraldv1.Event{Channel: "x", Type: "q\"\\", Data: []byte(`1`), Time: ts},
			`{"channel":"x","type":"q\"\\","data":1,"time":"2026-11-26T10:00:00.123Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Append(nil, tt.ev)); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	got := string(AppendWithID(nil, 42, tests[0].ev))
	want := `{"id":"42","channel":"news","type":"message","data":{"a":1},"time":"2026-11-26T10:00:00.123Z"}`
	if got != want {
		t.Fatalf("AppendWithID got %s", got)
	}
}

func TestAppendString(t *testing.T) {
	tests := map[string]string{
		"plain":        `"plain"`,
		"a\nb\r\t\x00": `"a\nb\r\t\u0000"`,
		"\x1f\"\\":     `"\u001f\"\\"`,
		"\u2028\u2029": `"\u2028\u2029"`,
		"ok\xffé":      `"ok\ufffdé"`,
	}
	for in, want := range tests {
		if got := string(AppendString(nil, in)); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestAppendAllocs(t *testing.T) {
	ev := &heraldv1.Event{Channel: "news", Type: "message", Data: []byte(`{"a":1}`), Time: timestamppb.Now()}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], ev) }); n != 0 {
		t.Fatalf("Append allocates %v times per event", n)
	}
}

// FuzzAppendString proves every string encodes to valid JSON that decodes back
// to the input (with invalid UTF-8 replaced).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"", "\\", "\n", "\xff", "\u2028", "é\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("invalid JSON %s: %v", out, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want && utf8.ValidString(s) {
			t.Fatalf("round trip %q -> %q", s, back)
		}
		if strings.ContainsAny(string(out), "\n\r\x00\u2028\u2029") {
			t.Fatalf("raw line break or NUL in %q", out)
		}
	})
}
