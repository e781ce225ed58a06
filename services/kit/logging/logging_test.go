package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "warn", "json", "api")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("one JSON line expected, got %q: %v", buf.String(), err)
	}
	if line["msg"] != "shown" || line["service"] != "api" {
		t.Fatalf("line = %v", line)
	}
	for _, bad := range [][2]string{{"loud", "json"}, {"info", "xml"}} {
		if _, err := New(&buf, bad[0], bad[1], "api"); err == nil {
			t.Errorf("New(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestRequestID(t *testing.T) {
	ctx := WithRequestID(context.Background(), "abc")
	if RequestID(ctx) != "abc" || RequestID(context.Background()) != "" {
		t.Fatal("context round trip")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(RequestIDHeader, "client-id-1")
	if got := IncomingRequestID(r); got != "client-id-1" {
		t.Fatalf("kept id = %q", got)
	}
	r.Header.Set(RequestIDHeader, "bad id\n")
	if got := IncomingRequestID(r); got == "bad id\n" || len(got) != 16 {
		t.Fatalf("replaced id = %q", got)
	}
}
