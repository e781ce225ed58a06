package app_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestIdempotency: a retry with the same Idempotency-Key answers 200 with
// the first publish's id, channel, type and time, and stores nothing new.
func TestIdempotency(t *testing.T) {
	e := newEnv(t, nil)
	first := e.do("POST", "/api/v1/channels/news/events", "application/json", `{"type":"a","data":1}`, "Idempotency-Key", "k-1")
	if first.status != http.StatusCreated || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	tests := []struct {
		name, path, ct, body string
	}{
		{"same request", "/api/v1/channels/news/events", "application/json", `{"type":"a","data":1}`},
		{"different body and channel", "/api/v1/channels/other/events", "text/plain", `changed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", tt.path, tt.ct, tt.body, "Idempotency-Key", "k-1")
			if r.status != http.StatusOK {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			if r.body != first.body {
				t.Errorf("retry body %s, want the first %s", r.body, first.body)
			}
			if r.header.Get("Idempotent-Replayed") != "true" {
				t.Error("no Idempotent-Replayed header")
			}
		})
	}
	second := e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":2}`, "Idempotency-Key", "k-2")
	if second.status != http.StatusCreated || idOf(t, second.body) != 2 {
		t.Fatalf("new key: %d %s", second.status, second.body)
	}
	info, err := e.stream().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages, want 2", info.State.Msgs)
	}

	// In a batch, keys work per event, also against single publishes.
	r := e.do("POST", "/api/v1/events", "application/json",
		`{"events":[{"channel":"news","data":3,"idempotency_key":"k-1"},{"channel":"news","data":4,"idempotency_key":"k-3"},{"channel":"news","data":5,"idempotency_key":"k-3"}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	var out struct {
		Results []struct {
			Status int    `json:"status"`
			ID     string `json:"id"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status int
		id     string
	}{{200, "1"}, {201, "3"}, {200, "3"}}
	for i, w := range want {
		if got := out.Results[i]; got.Status != w.status || got.ID != w.id {
			t.Errorf("result %d = %+v, want %+v", i, got, w)
		}
	}
	if info, _ := e.stream().Info(t.Context()); info.State.Msgs != 3 {
		t.Errorf("stream holds %d messages, want 3", info.State.Msgs)
	}
}
