package app_test

// Hostile load against the api, in the spirit of Mercure's
// hardening_test.go: each row is an attack from issue #10, the bound the
// api keeps and the figure observed (logged).

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestHostileLoadAPI(t *testing.T) {
	rows := []struct {
		attack, bound string
		run           func(t *testing.T)
	}{
		{"64 KiB text/plain body of \\x01 bytes (before: stored and framed as 393 KB)",
			"413; what is stored ≤ api.body_limit", escapedBody},
		{"1,000-event history page of maximal events beside 200 publishes (before: 393 MB in one pull, the api's NATS link dropped, 24/615 publishes 503)",
			"page ≤ api.history_bytes_max + one event, next continues; no NATS slow consumer or reconnect; every publish 201", historyOfMaximalEvents},
		{"after=18446744073709551615 and after=18446744073709551616 (before: 503 event store unavailable)",
			"200 empty page; 400 problem+json", afterOverflow},
	}
	for _, r := range rows {
		t.Run(r.attack, func(t *testing.T) {
			t.Logf("bound: %s", r.bound)
			r.run(t)
		})
	}
}

func escapedBody(t *testing.T) {
	e := newEnv(t, nil)
	limit := int(e.cfg.BodyLimit)
	r := e.do("POST", "/api/v1/channels/esc/events", "text/plain", strings.Repeat("\x01", limit))
	// The most control bytes that fit once escaped (6 bytes each, plus quotes).
	fit := e.do("POST", "/api/v1/channels/esc/events", "text/plain", strings.Repeat("\x01", (limit-2)/6))
	stored := 0
	if fit.status == 201 {
		m, err := e.stream().GetLastMsgForSubject(context.Background(), channel.Subject("esc"))
		if err != nil {
			t.Fatal(err)
		}
		var ev heraldv1.Event
		if err := proto.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		stored = len(ev.Data)
	}
	t.Logf("observed: %d × \\x01 → %d; %d × \\x01 → %d, stored as %d bytes (limit %d)", limit, r.status, (limit-2)/6, fit.status, stored, limit)
	if r.status != 413 || !strings.Contains(r.body, "as stored") {
		t.Errorf("escape-heavy body: %d %s, want 413", r.status, r.body)
	}
	if fit.status != 201 || stored > limit {
		t.Errorf("largest escaped body: %d, stored %d bytes; want 201 and ≤ %d", fit.status, stored, limit)
	}
}

// apiConn is the server's id for the api's connection; it changes when the
// api reconnects.
func apiConn(t testing.TB, ns *server.Server) uint64 {
	t.Helper()
	cz, err := ns.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cz.Conns {
		if c.Name == "herald-api" {
			return c.Cid
		}
	}
	return 0
}

func historyOfMaximalEvents(t *testing.T) {
	const events, publishes = 1000, 200
	e := newEnv(t, nil)
	size := int(e.cfg.BodyLimit)
	data := []byte(`"` + strings.Repeat("x", size-2) + `"`)
	for i := 0; i < events; i += 100 {
		for range 100 {
			b, _ := proto.Marshal(&heraldv1.Event{Channel: "max", Type: "message", Data: data, ContentType: "application/json", Time: timestamppb.Now()})
			if _, err := e.js.PublishAsync(channel.Subject("max"), b); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-e.js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			t.Fatal("seeding the stream did not complete")
		}
	}
	cid := apiConn(t, e.ns)

	var wg sync.WaitGroup
	statuses := make(chan int, publishes)
	for i := range publishes {
		wg.Go(func() {
			statuses <- e.do("POST", "/api/v1/channels/legit/events", "application/json", `{"data":`+itoa(i)+`}`).status
		})
	}
	type page struct {
		Events []json.RawMessage
		Next   *string
	}
	var first page
	firstBytes := 0
	total, pages, largest := 0, 0, 0
	after := "0"
	for {
		r := e.do("GET", "/api/v1/channels/max/events?limit=1000&after="+after, "", "")
		if r.status != 200 {
			t.Fatalf("history: %d %s", r.status, r.body)
		}
		var p page
		if err := json.Unmarshal([]byte(r.body), &p); err != nil {
			t.Fatal(err)
		}
		if pages == 0 {
			first, firstBytes = p, len(r.body)
		}
		pages++
		total += len(p.Events)
		largest = max(largest, len(r.body))
		if p.Next == nil {
			break
		}
		after = *p.Next
	}
	wg.Wait()
	close(statuses)
	ok, failed := 0, 0
	for s := range statuses {
		if s == 201 {
			ok++
		} else {
			failed++
		}
	}
	v, err := e.ns.Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := apiConn(t, e.ns)
	t.Logf("observed: first page %d events, %.2f MB; %d pages for %d events, largest %.2f MB (bound %.0f MB + one event); publishes %d/%d 201; NATS slow consumers %d; api connection %d → %d",
		len(first.Events), float64(firstBytes)/(1<<20), pages, total, float64(largest)/(1<<20), float64(e.cfg.HistoryBytesMax)/(1<<20), ok, publishes, v.SlowConsumers, cid, now)
	if bound := int(e.cfg.HistoryBytesMax) + size + 1024; largest > bound {
		t.Errorf("a page was %d bytes, bound %d", largest, bound)
	}
	if total != events || first.Next == nil {
		t.Errorf("paging read %d of %d events (first next %v)", total, events, first.Next)
	}
	if failed != 0 || v.SlowConsumers != 0 || now != cid {
		t.Errorf("%d publishes failed, %d slow consumers, connection %d → %d", failed, v.SlowConsumers, cid, now)
	}
}

func afterOverflow(t *testing.T) {
	e := newEnv(t, nil)
	e.do("POST", "/api/v1/channels/x/events", "application/json", `{"data":1}`)
	largest := e.do("GET", "/api/v1/channels/x/events?after=18446744073709551615", "", "")
	over := e.do("GET", "/api/v1/channels/x/events?after=18446744073709551616", "", "")
	t.Logf("observed: max uint64 → %d %s; overflow → %d %s", largest.status, strings.TrimSpace(largest.body), over.status, over.header.Get("Content-Type"))
	if largest.status != 200 || strings.TrimSpace(largest.body) != `{"events":[],"next":null}` {
		t.Errorf("after = max uint64: %d %s", largest.status, largest.body)
	}
	if over.status != 400 || over.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("after overflowing: %d %s", over.status, over.header.Get("Content-Type"))
	}
}
