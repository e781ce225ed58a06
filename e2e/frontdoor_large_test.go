package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/launcher"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
)

// TestFrontDoorLargeEventsIntact pushes events of the largest size the api
// takes (api.body_limit: a 64 KiB body) through nginx, over HTTP/1.1 and
// over HTTP/2, back to back: the stream location's proxy buffer is 1k, so
// each event crosses nginx in many reads and writes, and every byte must
// arrive, in order, in one event each.
func TestFrontDoorLargeEventsIntact(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: probeRoot(t), Env: frontDoorGrant})
	pem, err := os.ReadFile(s.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a bound, not a timing assertion
	defer cancel()
	const channel = "fd.big"
	var streams []*ssetest.Stream
	for _, c := range []struct {
		client *http.Client
		base   string
		proto  int
	}{{http.DefaultClient, s.BaseURL, 1}, {h2, s.TLSURL, 2}} {
		st, err := ssetest.Open(ctx, c.client, c.base+"/stream?channel="+channel, "")
		if err != nil {
			t.Fatalf("opening the stream over %s: %v", c.base, err)
		}
		t.Cleanup(st.Close)
		if st.Resp.ProtoMajor != c.proto {
			t.Fatalf("%s answered over %s, want HTTP/%d", c.base, st.Resp.Proto, c.proto)
		}
		if ev, err := st.Next(); err != nil || ev.Type != "herald.connected" {
			t.Fatalf("first event over %s: %+v %v, want herald.connected", c.base, ev, err)
		}
		streams = append(streams, st)
	}

	// Distinct, position-dependent content: a dropped, doubled or reordered
	// piece of any size changes the string.
	// The whole body is at the limit too: 64 KiB less the JSON around the
	// data (ASCII letters, digits and dots: nothing to escape).
	n := 64<<10 - len(`{"data":"","type":"fd.big"}`)
	var want []string
	for i := range 3 {
		var b strings.Builder
		for b.Len() < n {
			fmt.Fprintf(&b, "%c%d.", 'a'+i, b.Len())
		}
		data := b.String()[:n]
		body, _ := json.Marshal(map[string]any{"type": "fd.big", "data": data})
		if len(body) != 64<<10 {
			t.Fatalf("body of %d bytes, want 64 KiB", len(body))
		}
		publishLarge(t, ctx, s, channel, body)
		want = append(want, `"`+data+`"`)
	}
	for k, st := range streams {
		for i, w := range want {
			ev, err := st.Next()
			if err != nil {
				t.Fatalf("stream %d, event %d: %v", k, i, err)
			}
			var env struct {
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal([]byte(ev.Data), &env); err != nil {
				t.Fatalf("stream %d, event %d: %d bytes that are no envelope: %v", k, i, len(ev.Data), err)
			}
			if got := string(env.Data); ev.Type != "fd.big" || got != w {
				t.Fatalf("stream %d, event %d: type %q, %d bytes of data, want fd.big and the %d bytes published (first difference at %d)",
					k, i, ev.Type, len(got), len(w), firstDiff(got, w))
			}
		}
	}
}

// publishLarge posts one raw JSON event through nginx and wants 201.
func publishLarge(t *testing.T, ctx context.Context, s *launcher.Stack, channel string, body []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL+"/api/v1/channels/"+channel+"/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("publishing %d bytes: %d %s", len(body), res.StatusCode, raw)
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) == len(b) {
		return -1
	}
	return min(len(a), len(b))
}
