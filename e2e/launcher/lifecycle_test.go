package launcher_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/launcher"
)

// TestStackLifecycle drives the controls chaos tests use: stop, kill and
// restart replicas, restart NATS, and a Close (safe to repeat, as StartTB's
// cleanup does) that leaves nothing listening.
func TestStackLifecycle(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: t.TempDir()})

	steps := []struct {
		name string
		do   func() error
		down []string // URLs that must not answer afterwards
		up   []string // URLs whose /readyz must answer 200 afterwards
	}{
		{"stop replica 0", func() error { return s.StopStream(0) }, []string{s.StreamURLs[0]}, []string{s.StreamURLs[1]}},
		{"start replica 0 again", func() error { return s.StartStream(0) }, nil, []string{s.StreamURLs[0]}},
		{"kill replica 1", func() error { return s.KillStream(1) }, []string{s.StreamURLs[1]}, []string{s.StreamURLs[0]}},
		{"start replica 1 again", func() error { return s.StartStream(1) }, nil, []string{s.StreamURLs[1]}},
		{"restart nats", s.RestartNATS, nil, []string{s.APIURL, s.StreamURLs[0], s.StreamURLs[1]}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			for _, u := range st.down {
				if resp, err := http.Get(u + "/healthz"); err == nil {
					resp.Body.Close()
					t.Errorf("%s still answers", u)
				}
			}
			for _, u := range st.up {
				waitOK(t, u+"/readyz")
			}
		})
	}

	// After the NATS restart (same store), publishing through nginx works.
	waitOK(t, s.BaseURL+"/api/readyz")
	resp, err := http.Post(s.BaseURL+"/api/v1/channels/chat.life/events", "application/json", strings.NewReader(`{"data":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish after the NATS restart = %d", resp.StatusCode)
	}

	urls := append([]string{s.BaseURL, s.APIURL}, s.StreamURLs...)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, u := range urls {
		if resp, err := http.Get(u + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("%s still answers after Close", u)
		}
	}
}

// waitOK polls url until it answers 200 (a service reconnecting to NATS
// becomes ready again on its own schedule).
func waitOK(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 15s (last: %v)", url, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
