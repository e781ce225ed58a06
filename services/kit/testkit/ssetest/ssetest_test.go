package ssetest

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestStreamNext(t *testing.T) {
	in := "retry: 3000\n\n: hb\n\nevent: herald.connected\ndata: {\"a\":1}\n\n" +
		"id: 7\r\ndata: one\r\ndata: two\r\n\r\n" +
		"id\rdata:no-space\r\rid: 9\x00\ndata: x\n\n" +
		"data: unterminated"
	s := &Stream{p: NewReader(strings.NewReader(in), "")}
	want := []Event{
		{Type: "herald.connected", Data: `{"a":1}`},
		{ID: "7", HasID: true, Type: "message", Data: "one\ntwo"},
		{ID: "", HasID: true, Type: "message", Data: "no-space"},
		{ID: "", Type: "message", Data: "x"},
	}
	for i, w := range want {
		got, err := s.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got != w {
			t.Fatalf("event %d = %+v, want %+v", i, got, w)
		}
	}
	if _, err := s.Next(); err != io.EOF {
		t.Fatalf("after last event: %v, want EOF", err)
	}
	if s.Retry() != 3000 || s.Retries != 1 || s.Comments != 1 {
		t.Fatalf("retry %d retries %d comments %d", s.Retry(), s.Retries, s.Comments)
	}
}

// TestParse: a BOM at the start, a comment and a retry field in the middle of
// a block, and a CRLF split between two reads (one byte a read) change nothing.
func TestParse(t *testing.T) {
	in := "\uFEFFevent: e\r\n: in between\r\nretry: 10\r\ndata: d\r\nid: 3\r\n\r\nretry: x\r\ndata: m\r\n\r\n"
	var got []Item
	Parse(iotest.OneByteReader(strings.NewReader(in)), func(it Item) { got = append(got, it) })
	want := []Item{
		{Kind: "comment", Comment: "in between"},
		{Kind: "retry", Retry: 10},
		{Kind: "event", ID: "3", HasID: true, Type: "e", Data: "d"},
		{Kind: "event", ID: "3", Type: "message", Data: "m"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("item %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
