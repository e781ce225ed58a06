package target

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/stream", true},
		{"http://127.3.4.5/stream", true},
		{"http://localhost:8080/", true},
		{"http://[::1]:80/", true},
		{"https://127.0.0.1/", true},
		{"http://10.0.0.1/", false},
		{"http://example.com/", false},
		{"http://0.0.0.0:8080/", false},
		{"ftp://127.0.0.1/", false},
		{"http://128.0.0.1/", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if err := CheckLoopback(tt.url); (err == nil) != tt.ok {
				t.Fatalf("CheckLoopback(%q) = %v, want ok=%v", tt.url, err, tt.ok)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := Target{SSEURL: "http://127.0.0.1:1/s?c={channel}", PublishURL: "http://127.0.0.1:1/p/{channel}", PublishBody: `{"data":{payload}}`}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.PublishURL = "http://192.168.1.1/p/{channel}"
	if bad.Validate() == nil {
		t.Fatal("non-loopback publish url accepted")
	}
	for _, h := range []string{"no colon", ": no name", "Bad Name: v", "X-Key: a\r\nInjected: b"} {
		bad = good
		bad.PublishHeaders = []string{h}
		if bad.Validate() == nil {
			t.Errorf("publish header %q accepted", h)
		}
	}
	bad = good
	bad.SSEURL = "http://127.0.0.1/s"
	if bad.Validate() == nil {
		t.Fatal("sse url without {channel} accepted")
	}
}

func TestPublishHeadersStayOutOfJSON(t *testing.T) {
	b, err := json.Marshal(Target{SSEURL: "http://127.0.0.1/s?c={channel}", PublishHeaders: []string{"X-API-Key: secret"}})
	if err != nil || bytes.Contains(b, []byte("secret")) || bytes.Contains(b, []byte("X-API-Key")) {
		t.Fatalf("marshalled %s (%v)", b, err)
	}
}

func TestParseID(t *testing.T) {
	tests := map[string]uint64{
		`{"id":"1042","channel":"x"}`: 1042,
		`{"id": 7}`:                   7,
		`{"channel":"x"}`:             0,
		`{"id":"abc"}`:                0,
	}
	for in, want := range tests {
		if got := ParseID([]byte(in)); got != want {
			t.Errorf("ParseID(%s) = %d, want %d", in, got, want)
		}
	}
}

func TestPublishExpandsTemplates(t *testing.T) {
	var gotPath, gotBody, gotCT, gotKey string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotCT, gotKey = r.URL.EscapedPath(), r.Header.Get("Content-Type"), r.Header.Get("X-Api-Key")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"99"}`)
	}))
	defer srv.Close()
	p := NewPublisher(Target{PublishURL: srv.URL + "/api/v1/channels/{channel}/events", PublishBody: `{"type":"bench","data":{payload}}`, ContentType: "application/json",
		PublishHeaders: []string{"x-api-key:  k1 "}}, 1)
	defer p.Close()
	id, err := p.Publish(context.Background(), "b.1", []byte(`{"c":0}`))
	if err != nil || id != 99 {
		t.Fatalf("Publish = %d, %v", id, err)
	}
	if gotPath != "/api/v1/channels/b.1/events" || gotBody != `{"type":"bench","data":{"c":0}}` || gotCT != "application/json" || gotKey != "k1" {
		t.Fatalf("request = %s %s %s key %q", gotPath, gotBody, gotCT, gotKey)
	}
}
