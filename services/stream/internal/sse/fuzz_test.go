package sse

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzAppendEvent proves that no id, type or data can produce an extra field
// or an extra event: the encoded frame, parsed by the WHATWG rules, is exactly
// one event whose fields equal the inputs after the documented normalisation
// (CR, LF and NUL stripped from id and type; "message" for an empty type; CRLF
// and CR in data read back as LF). A second frame appended after it must parse
// untouched, so nothing can leak into the next event either.
func FuzzAppendEvent(f *testing.F) {
	seeds := []struct{ id, typ, data string }{
		{"1", "message", `{"a":1}`},
		{"", "", ""},
		{"1\n", "a\r\nb", "x\r\ny\rz\n"},
		{"\x00", "\r", "\n\n"},
		{"id: 3", "event: x", "data: y\n\nid: 4\n\n"},
		{" ", " message", "\xEF\xBB\xBF:comment\r\rretry: 1\n"},
	}
	for _, s := range seeds {
		f.Add(s.id, s.typ, []byte(s.data))
	}
	f.Fuzz(func(t *testing.T, id, typ string, data []byte) {
		frame := AppendEvent(nil, id, typ, data)
		stream := AppendEvent(bytes.Clone(frame), "2", "next", []byte("tail"))
		p := parseStream(stream)

		wantID := strip(id)
		wantType := strip(typ)
		var fields []string
		if wantID != "" {
			fields = append(fields, "id")
		}
		if wantType != "" && wantType != "message" {
			fields = append(fields, "event")
		}
		if wantType == "" {
			wantType = "message"
		}
		wantData := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
		for range strings.Count(wantData, "\n") + 1 {
			fields = append(fields, "data")
		}
		want := []parsedEvent{
			{ID: wantID, Type: wantType, Data: wantData, Fields: fields},
			{ID: "2", Type: "next", Data: "tail", Fields: []string{"id", "event", "data"}},
		}
		if !reflect.DeepEqual(p.Events, want) || p.Retries != nil || p.Comments != nil {
			t.Fatalf("AppendEvent(%q, %q, %q) = %q\nparsed %+v\nwant events %+v", id, typ, data, frame, p, want)
		}
	})
}

// strip removes CR, LF and NUL byte by byte (strings.Map would also rewrite
// invalid UTF-8, which the encoder rightly leaves alone).
func strip(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\r' && c != '\n' && c != 0 {
			b = append(b, c)
		}
	}
	return string(b)
}
