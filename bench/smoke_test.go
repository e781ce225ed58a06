package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/herald-push/herald/bench/internal/scenario"
	"github.com/herald-push/herald/bench/internal/target"
	"github.com/herald-push/herald/e2e/launcher"
)

// TestSmoke runs small scenarios against the whole stack (embedded NATS,
// api, two stream replicas, nginx) and asserts that nothing is lost or
// duplicated. It asserts no timing: numbers belong to herald-bench.
func TestSmoke(t *testing.T) {
	// Auth fails closed: the smoke runs publish and subscribe anonymously on
	// their own channels (smoke.r*).
	st := launcher.StartTB(t, launcher.Options{Replicas: 2, Env: launcher.Anonymous("smoke.>")})
	publish := st.APIURL + "/api/v1/channels/{channel}/events"
	tests := []struct {
		name     string
		scenario string
		sse      string
		channels int
		wildcard bool
		kill     func() error
	}{
		{"fanout direct", scenario.Fanout, st.StreamURLs[0], 1, false, nil},
		{"fanout via nginx", scenario.Fanout, st.BaseURL, 1, false, nil},
		{"channels wildcard via nginx", scenario.Channels, st.BaseURL, 3, true, nil},
		// Last: it kills replica 0, and the subscribers it held must resume
		// through nginx on replica 1 with nothing lost and nothing repeated.
		{"resume via nginx after a replica is killed", scenario.Resume, st.BaseURL, 1, false, func() error {
			st.KillStream(0) // its error is the killed process's exit status
			return nil
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := scenario.Options{
				Scenario: tt.scenario, Subscribers: 50, Channels: tt.channels, Wildcard: tt.wildcard,
				Rate: 20, Duration: 2 * time.Second, Drain: 15 * time.Second, ConnectTimeout: 30 * time.Second,
				DialConcurrency: 25, SourceIPs: 4, ReadyEvent: "herald.connected", MaxRetry: 500 * time.Millisecond,
				PublishWorkers: 4, KillAt: 700 * time.Millisecond, Kill: tt.kill,
				Prefix: "smoke.r" + string(rune('a'+i)),
				Target: target.Target{SSEURL: tt.sse + "/stream?channel={channel}", PublishURL: publish,
					PublishBody: `{"data":{payload}}`, ContentType: "application/json"},
			}
			res, err := scenario.Run(context.Background(), o)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if res.PublishErrors != 0 || res.Published != 40 {
				t.Fatalf("published %d with %d errors (%s)", res.Published, res.PublishErrors, res.Error)
			}
			if res.Lost != 0 || res.LostByID != 0 || res.Duplicates != 0 || res.IDDuplicates != 0 || res.Foreign != 0 {
				t.Fatalf("lost %d (by id %d), duplicates %d (by id %d), foreign %d", res.Lost, res.LostByID, res.Duplicates, res.IDDuplicates, res.Foreign)
			}
			if res.Delivered != res.Expected || res.Expected == 0 {
				t.Fatalf("delivered %d of %d", res.Delivered, res.Expected)
			}
			if tt.kill != nil && (res.Resume == nil || res.Resume.NotCaughtUp != 0 || res.Resume.Dropped == 0) {
				t.Fatalf("resume: %+v", res.Resume)
			}
		})
	}
}
