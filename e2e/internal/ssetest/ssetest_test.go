package ssetest

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestNext(t *testing.T) {
	in := "retry: 3000\n\n: hb\n\nevent: herald.connected\ndata: {\"a\":1}\n\n" +
		"id: 7\r\ndata: one\r\ndata: two\r\n\r\n" +
		"id\rdata:no-space\r\rid: 9\x00\ndata: x\n\n" +
		"data: unterminated"
	s := &Stream{r: bufio.NewReader(strings.NewReader(in))}
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
	if s.Retry() != 3000 || s.Comments != 1 {
		t.Fatalf("retry %d comments %d", s.Retry(), s.Comments)
	}
}
