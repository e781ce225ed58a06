package client

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/herald-push/herald/bench/internal/ledger"
	"github.com/herald-push/herald/bench/internal/payload"
)

// sseServer serves events 0..n-1 on each connection, starting after the
// Last-Event-ID it is given, and drops the first connection after dropAfter
// events to exercise the resume path.
func sseServer(t *testing.T, n, dropAfter int) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var lastIDs []string
	conns := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns++
		c := conns
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 10\n\nevent: herald.connected\ndata: {}\n\n: hb\n\n")
		start := 0
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			fmt.Sscan(id, &start) // ids are seq+1
		}
		for seq := start; seq < n; seq++ {
			if c == 1 && seq == dropAfter {
				return
			}
			body := payload.Append(nil, payload.P{Channel: 0, Seq: int64(seq), Intended: time.Now().UnixNano()})
			fmt.Fprintf(w, "id: %d\ndata: {\"channel\":\"c\",\"data\":%s}\n\n", seq+1, body)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, &lastIDs
}

func TestSubscriberResumesWithoutLossOrDuplicates(t *testing.T) {
	const n = 50
	srv, lastIDs := sseServer(t, n, 20)
	u, _ := url.Parse(srv.URL + "/stream?channel=c")
	sh := NewShared(4)
	s := &Subscriber{ID: 0, Ledger: ledger.NewSub(0, 1), Opts: Options{
		URL: u, LocalIP: net.IPv4(127, 0, 0, 2), ReadyType: "herald.connected", MaxRetry: time.Second, Reconnect: true,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ready := make(chan int, 1)
	done := make(chan struct{})
	go func() { s.Run(ctx, sh, ready); close(done) }()
	if id := <-ready; id != 0 {
		t.Fatalf("ready id %d", id)
	}
	for sh.Received.Load() < n && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond) // polling a counter, bounded by ctx
	}
	cancel()
	<-done
	var tot ledger.Totals
	tot.Add(s.Ledger, []uint64{n})
	if tot.Lost != 0 || tot.Dups != 0 || tot.IDDups != 0 || tot.LostByID != 0 || tot.Received != n {
		t.Fatalf("totals %+v", tot)
	}
	if s.Disconnects < 1 || sh.Reconnects.Load() != 1 {
		t.Fatalf("disconnects %d reconnects %d", s.Disconnects, sh.Reconnects.Load())
	}
	if got := (*lastIDs)[1]; got != "20" {
		t.Fatalf("resumed with Last-Event-ID %q, want 20", got)
	}
	if s.Heartbeats < 1 || s.OtherEvents != 2 {
		t.Fatalf("heartbeats %d other events %d", s.Heartbeats, s.OtherEvents)
	}
	if h := sh.Latency.Snapshot(); h.Count() != n {
		t.Fatalf("latency samples %d", h.Count())
	}
}

func TestSubscriberBadStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/stream")
	sh := NewShared(1)
	s := &Subscriber{Ledger: ledger.NewSub(0, 1), Opts: Options{URL: u, LocalIP: net.IPv4(127, 0, 0, 1)}}
	s.Run(context.Background(), sh, nil)
	if s.Statuses[429] != 1 || sh.BadStatus.Load() != 1 || s.IsReady {
		t.Fatalf("statuses %v ready %v", s.Statuses, s.IsReady)
	}
}

// TestSubscriberResumesWithANonNumericID: a server whose ids are not numbers
// (Nchan's "time:tag") gets its last id back verbatim, like a browser sends it.
func TestSubscriberResumesWithANonNumericID(t *testing.T) {
	const n, dropAfter = 30, 12
	var mu sync.Mutex
	var lastIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := len(lastIDs) == 0
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 10\n\n")
		start := 0
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			fmt.Sscanf(id, "1796130512:%d", &start)
			start++
		}
		for seq := start; seq < n; seq++ {
			if first && seq == dropAfter {
				return
			}
			body := payload.Append(nil, payload.P{Channel: 0, Seq: int64(seq), Intended: time.Now().UnixNano()})
			fmt.Fprintf(w, "id: 1796130512:%d\ndata: %s\n\n", seq, body)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/sub?channel=c")
	sh := NewShared(1)
	s := &Subscriber{Ledger: ledger.NewSub(0, 1), Opts: Options{URL: u, LocalIP: net.IPv4(127, 0, 0, 3), MaxRetry: time.Second, Reconnect: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { s.Run(ctx, sh, nil); close(done) }()
	for sh.Received.Load() < n && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond) // polling a counter, bounded by ctx
	}
	cancel()
	<-done
	var tot ledger.Totals
	tot.Add(s.Ledger, []uint64{n})
	if tot.Lost != 0 || tot.Dups != 0 || tot.Received != n || tot.NoID != n {
		t.Fatalf("totals %+v", tot)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lastIDs) != 2 || lastIDs[0] != "" || lastIDs[1] != fmt.Sprintf("1796130512:%d", dropAfter-1) {
		t.Fatalf("Last-Event-ID per connection %q", lastIDs)
	}
}
