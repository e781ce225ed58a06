package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/herald-push/herald/services/api/config"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRetention: the stream gets the configured limits, a restart with new
// limits updates the existing stream (keeping its events), and the
// per-channel limit drops the oldest events of that channel only.
func TestRetention(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Events = config.Retention{MaxAge: time.Hour, MaxMsgsPerChannel: 3, MaxBytes: 1 << 20, Replicas: 1, DuplicateWindow: time.Minute}
	})
	check := func(want config.Retention) {
		t.Helper()
		info, err := e.stream().Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := info.Config
		if got.MaxAge != want.MaxAge || got.MaxMsgsPerSubject != want.MaxMsgsPerChannel || got.MaxBytes != want.MaxBytes ||
			got.Replicas != want.Replicas || got.Duplicates != want.DuplicateWindow ||
			got.Storage != jetstream.FileStorage || !got.AllowDirect || got.Subjects[0] != "herald.events.>" {
			t.Errorf("stream config %+v, want %+v", got, want)
		}
	}
	check(e.cfg.Events)
	for i := range 5 {
		e.do("POST", "/api/v1/channels/busy/events", "application/json", fmt.Sprintf(`{"data":%d}`, i))
	}
	e.do("POST", "/api/v1/channels/quiet/events", "application/json", `{"data":"q"}`)
	r := e.do("GET", "/api/v1/channels/>/events", "", "")
	want := `{"events":[` +
		`{"id":"3","channel":"busy","type":"message","data":2,"time":"T"},` +
		`{"id":"4","channel":"busy","type":"message","data":3,"time":"T"},` +
		`{"id":"5","channel":"busy","type":"message","data":4,"time":"T"},` +
		`{"id":"6","channel":"quiet","type":"message","data":"q","time":"T"}],"next":null}` + "\n"
	if got := stripTime(t, r.body); got != want {
		t.Errorf("history\n got %s\nwant %s", got, want)
	}

	// Restart with new limits, unlimited ones included: the stream is updated.
	e.close()
	updated := config.Retention{MaxAge: 0, MaxMsgsPerChannel: -1, MaxBytes: -1, Replicas: 1, DuplicateWindow: 5 * time.Minute}
	e.startApp(func(c *config.Config) { c.Events = updated })
	e.waitReady()
	check(updated)
	info, err := e.stream().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 4 || info.State.LastSeq != 6 {
		t.Errorf("update lost events: %+v", info.State)
	}
}
