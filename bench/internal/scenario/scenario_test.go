package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-push/herald/bench/internal/target"
)

// fakeServer is a minimal SSE pub/sub with Herald's HTTP shape: global
// numeric ids, herald.connected after subscribing, prefix.* wildcards.
type fakeServer struct {
	mu   sync.Mutex
	seq  uint64
	subs map[chan []byte]string // subscriber → channel or pattern
	// dropEvery, when > 0, silently skips delivering every n-th event to the
	// first subscriber: a known loss the ledger must find.
	dropEvery uint64
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		ch := strings.TrimPrefix(r.URL.Path, "/pub/")
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seq++
		frame := fmt.Appendf(nil, "id: %d\ndata: {\"channel\":%q,\"data\":%s}\n\n", f.seq, ch, body)
		first := true
		for c, pat := range f.subs {
			if pat == ch || (strings.HasSuffix(pat, ".*") && strings.HasPrefix(ch, strings.TrimSuffix(pat, "*"))) {
				if f.dropEvery > 0 && first && f.seq%f.dropEvery == 0 {
					first = false
					continue
				}
				first = false
				c <- frame
			}
		}
		id := f.seq
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"%d"}`, id)
		return
	}
	c := make(chan []byte, 1024)
	f.mu.Lock()
	f.subs[c] = r.URL.Query().Get("channel")
	f.mu.Unlock()
	defer func() { f.mu.Lock(); delete(f.subs, c); f.mu.Unlock() }()
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "retry: 100\n\nevent: herald.connected\ndata: {}\n\n")
	w.(http.Flusher).Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-c:
			w.Write(b)
			w.(http.Flusher).Flush()
		}
	}
}

func newFake(t *testing.T, dropEvery uint64) target.Target {
	f := &fakeServer{subs: map[chan []byte]string{}, dropEvery: dropEvery}
	srv := httptest.NewServer(f)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return target.Target{
		SSEURL: srv.URL + "/stream?channel={channel}", PublishURL: srv.URL + "/pub/{channel}",
		PublishBody: `{payload}`, ContentType: "application/json",
	}
}

func base(tg target.Target) Options {
	return Options{
		Subscribers: 20, Rate: 50, Duration: 400 * time.Millisecond, Drain: 5 * time.Second,
		ConnectTimeout: 10 * time.Second, DialConcurrency: 8, SourceIPs: 4, ReadyEvent: "herald.connected",
		MaxRetry: time.Second, PublishWorkers: 4, Target: tg, Prefix: "bench.t",
	}
}

func TestScenariosAccountEveryEvent(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		channels int
		wildcard bool
		drop     uint64
		wantLost bool
	}{
		{"fanout", Fanout, 1, false, 0, false},
		{"channels", Channels, 4, false, 0, false},
		{"channels wildcard", Channels, 4, true, 0, false},
		{"fanout with a lossy server", Fanout, 1, false, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base(newFake(t, tt.drop))
			o.Scenario, o.Channels, o.Wildcard = tt.scenario, tt.channels, tt.wildcard
			if tt.drop > 0 {
				o.Drain = 300 * time.Millisecond
			}
			res, err := Run(context.Background(), o)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			perSub := uint64(res.Published)
			if tt.scenario == Channels && !tt.wildcard {
				perSub /= uint64(tt.channels)
			}
			if res.Published != 20 || res.PublishErrors != 0 || res.Expected != 20*perSub {
				t.Fatalf("published %d errors %d expected %d", res.Published, res.PublishErrors, res.Expected)
			}
			if res.Duplicates != 0 || res.IDDuplicates != 0 || res.Foreign != 0 || res.NoID != 0 {
				t.Fatalf("dups %d id dups %d foreign %d noid %d", res.Duplicates, res.IDDuplicates, res.Foreign, res.NoID)
			}
			if tt.wantLost {
				// Every 5th global event skipped for one subscriber: 4 of 20.
				if res.Lost != 4 || res.LostByID != 4 {
					t.Fatalf("lost %d by id %d, want 4", res.Lost, res.LostByID)
				}
				return
			}
			if res.Lost != 0 || res.LostByID != 0 || res.Delivered != res.Expected || res.Latency.Count != res.Expected {
				t.Fatalf("lost %d by id %d delivered %d expected %d latency samples %d", res.Lost, res.LostByID, res.Delivered, res.Expected, res.Latency.Count)
			}
			if res.Connected != 20 || res.ConnectTime.Count != 20 {
				t.Fatalf("connected %d", res.Connected)
			}
		})
	}
}

func TestValidateRefusesNonLoopbackAndOversize(t *testing.T) {
	o := base(target.Target{SSEURL: "http://10.1.2.3/s?c={channel}", PublishURL: "http://127.0.0.1/p", PublishBody: "{payload}"})
	o.Scenario = Fanout
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v, want a loopback refusal", err)
	}
	o = base(newFake(t, 0))
	o.Scenario, o.Subscribers = Fanout, MaxSubscribers()+1
	if _, err := Run(context.Background(), o); err == nil {
		t.Fatal("more subscribers than the fd limit allows was accepted")
	}
}
