package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go/jetstream"
)

type published struct {
	seq uint64
	ch  string
}

// publisher stores events round-robin on channels until stopped, and
// remembers every acknowledged one.
type publisher struct {
	mu   sync.Mutex
	all  []published
	stop chan struct{}
	done chan struct{}
}

func startPublisher(t *testing.T, js jetstream.JetStream, channels []string, max int) *publisher {
	p := &publisher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; i < max; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			ch := channels[i%len(channels)]
			seq, err := streamtest.TryPublish(js, ch, "", strconv.Itoa(i))
			if err != nil {
				t.Errorf("publish: %v", err)
				return
			}
			p.mu.Lock()
			p.all = append(p.all, published{seq, ch})
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *publisher) finish() []published {
	close(p.stop)
	<-p.done
	return p.all
}

// expectExactly reads events until every published event matching patterns
// with seq > after has arrived, and fails on anything else: no gap, no
// duplicate, nothing out of order.
func expectExactly(t *testing.T, c *streamtest.Client, all []published, after uint64, patterns ...string) {
	t.Helper()
	var want []uint64
	for _, p := range all {
		if p.seq > after && matchAny(patterns, p.ch) {
			want = append(want, p.seq)
		}
	}
	for i, seq := range want {
		it, ok := c.Next(10 * time.Second)
		for ok && strings.HasPrefix(it.Type, "herald.") && !it.HasID { // system events
			it, ok = c.Next(10 * time.Second)
		}
		if !ok {
			t.Fatalf("after %d of %d events: stream ended or stalled; want id %d", i, len(want), seq)
		}
		if it.ID != uitoa(seq) || !it.HasID {
			t.Fatalf("event %d: got id %q (%s), want %d", i, it.ID, it.Type, seq)
		}
	}
}

func matchAny(patterns []string, ch string) bool {
	for _, p := range patterns {
		if channel.Match(p, ch) {
			return true
		}
	}
	return false
}

// Resume with events arriving all the time, served from the ring, from
// JetStream (ring disabled), and from a ring too small to cover the range.
func TestResumeNoGapNoDuplicate(t *testing.T) {
	for _, ring := range []int{10000, 0, 3} {
		t.Run("ring="+strconv.Itoa(ring), func(t *testing.T) {
			e := newEnv(t, jetstream.StreamConfig{})
			a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.RingSize = ring })
			chans := []string{"a", "b.x", "c", "b.y"}
			var seqs []uint64
			for i := range 40 {
				seqs = append(seqs, streamtest.Publish(t, e.js, chans[i%4], "", strconv.Itoa(i)))
			}
			// Publishing goes on while clients resume.
			p := startPublisher(t, e.js, chans, 400)
			type resume struct {
				after    uint64
				byHeader bool
				patterns []string
			}
			resumes := []resume{
				{seqs[10], true, []string{"a"}},
				{seqs[0], false, []string{"b.*"}},
				{seqs[30], true, []string{"a", "c"}},
				{seqs[39], true, []string{">"}},
				{0, false, []string{"b.x", "b.*"}}, // from the start, overlapping patterns
			}
			clients := make([]*streamtest.Client, len(resumes))
			for i, r := range resumes {
				var hdr http.Header
				u := a.streamURL(r.patterns...)
				if r.byHeader {
					hdr = http.Header{"Last-Event-Id": {uitoa(r.after)}}
					u += "&last_event_id=1" // the header wins
				} else {
					u += "&last_event_id=" + uitoa(r.after)
				}
				clients[i] = streamtest.Dial(t, u, hdr)
				if it, ok := clients[i].Next(5 * time.Second); !ok || it.Type != "herald.connected" {
					t.Fatalf("client %d: %+v", i, it)
				}
			}
			all := p.finish()
			for i, r := range resumes {
				before := make([]published, 0, len(seqs)+len(all))
				for j, s := range seqs {
					before = append(before, published{s, chans[j%4]})
				}
				expectExactly(t, clients[i], append(before, all...), r.after, r.patterns...)
			}
			// Where the replays came from. A resume can also be "none": when
			// its id is not behind the hub at that moment (a busy machine lets
			// the publisher run ahead of the hub), which is why only the
			// source that must NOT appear is checked.
			m := a.metrics(t)
			switch ring {
			case 10000:
				if contains(m, `source="jetstream"`) || !contains(m, `herald_stream_replays_total{source="ring"}`) {
					t.Fatalf("want resumes from the ring only:\n%s", grep(m, "replays"))
				}
			case 0:
				if contains(m, `source="ring"`) || !contains(m, `herald_stream_replays_total{source="jetstream"}`) {
					t.Fatalf("want resumes from JetStream only:\n%s", grep(m, "replays"))
				}
			}
			// After everything: no extra event is waiting in any stream.
			last := streamtest.Publish(t, e.js, "z", "", "0")
			for i := range clients {
				if i == 3 { // subscribed to ">": gets z
					if it, _ := clients[i].Next(5 * time.Second); it.ID != uitoa(last) {
						t.Fatalf("client %d: got %q, want the final %d", i, it.ID, last)
					}
				}
			}
		})
	}
}

func TestResumeGap(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{MaxMsgs: 5})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.RingSize = 2 })
	var seqs []uint64
	for i := range 12 {
		seqs = append(seqs, streamtest.Publish(t, e.js, "news", "", strconv.Itoa(i)))
	}
	a.waitSeq(t, seqs[11])
	// seqs 1..7 are gone: the client asked after 2, first available is 8.
	c := streamtest.Dial(t, a.streamURL("news"), http.Header{"Last-Event-Id": {"2"}})
	if it, _ := c.Next(5 * time.Second); it.Type != "herald.connected" {
		t.Fatalf("first: %+v", it)
	}
	gap, _ := c.Next(5 * time.Second)
	if gap.Type != "herald.gap" || gap.HasID || gap.Data != `{"after":2,"first_available":8}` {
		t.Fatalf("gap event = %+v", gap)
	}
	var want []streamtest.Item
	for i := 7; i < 12; i++ {
		want = append(want, ev(seqs[i], "news", "", strconv.Itoa(i)))
	}
	expectEvents(t, c, want)
}

// An id beyond the stream's last sequence replays nothing; the live feed
// continues with the next event published.
func TestResumeFutureID(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, nil)
	// The hub must have event 1 before the clients subscribe, or it comes
	// live and the test sees it first.
	a.waitSeq(t, streamtest.Publish(t, e.js, "news", "", "1"))
	for _, id := range []string{"1000000", "18446744073709551615"} {
		t.Run(id, func(t *testing.T) {
			c := streamtest.Dial(t, a.streamURL("news"), http.Header{"Last-Event-Id": {id}})
			if it, _ := c.Next(5 * time.Second); it.Type != "herald.connected" {
				t.Fatalf("first: %+v", it)
			}
			seq := streamtest.Publish(t, e.js, "news", "", "2")
			expectEvents(t, c, []streamtest.Item{ev(seq, "news", "", "2")})
		})
	}
}

// Many resumes through JetStream leave no consumer behind: only the
// process's one ordered consumer remains.
func TestNoConsumersLeftBehind(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.RingSize = 0 })
	for i := range 20 {
		streamtest.Publish(t, e.js, []string{"a", "b"}[i%2], "", strconv.Itoa(i))
	}
	for i := range 30 {
		c := streamtest.Dial(t, a.streamURL("a", "b"), http.Header{"Last-Event-Id": {uitoa(uint64(i % 15))}})
		if it, _ := c.Next(5 * time.Second); it.Type != "herald.connected" {
			t.Fatalf("first: %+v", it)
		}
		if it, ok := c.Next(5 * time.Second); !ok || it.ID != uitoa(uint64(i%15+1)) {
			t.Fatalf("resume %d: first event %+v", i, it)
		}
		c.Close()
	}
	st, err := e.js.Stream(context.Background(), channel.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	eventually(t, 10*time.Second, func() bool {
		names = names[:0]
		l := st.ConsumerNames(context.Background())
		for n := range l.Name() {
			names = append(names, n)
		}
		return l.Err() == nil && len(names) == 1
	}, "exactly one consumer (the ordered one); have %q", names)
}

// waitSeq waits until the app's consumer has fanned out seq.
func (a *testApp) waitSeq(t testing.TB, seq uint64) {
	t.Helper()
	want := "herald_stream_consumer_last_seq " + uitoa(seq) + "\n"
	eventually(t, 10*time.Second, func() bool { return contains(a.metrics(t), want) }, "consumer at seq %d", seq)
}

// A client drops from one replica and resumes on another with its last id:
// it gets exactly what it missed, then the live feed.
func TestResumeOnAnotherReplica(t *testing.T) {
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, nil)
	b := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.RingSize = 0 })
	c1, _ := a.open(t, nil, "room.*")
	var all []published
	for i := range 10 {
		all = append(all, published{streamtest.Publish(t, e.js, []string{"room.1", "lobby"}[i%2], "", strconv.Itoa(i)), []string{"room.1", "lobby"}[i%2]})
	}
	expectExactly(t, c1, all[:4], 0, "room.*")
	lastSeen := all[2].seq // room.1 events are at even indexes: 0, 2
	c1.Close()
	for i := 10; i < 14; i++ {
		all = append(all, published{streamtest.Publish(t, e.js, "room.1", "", strconv.Itoa(i)), "room.1"})
	}
	c2 := streamtest.Dial(t, b.streamURL("room.*"), http.Header{"Last-Event-Id": {uitoa(lastSeen)}})
	if it, _ := c2.Next(5 * time.Second); it.Type != "herald.connected" {
		t.Fatalf("first: %+v", it)
	}
	expectExactly(t, c2, all, lastSeen, "room.*")
}

// A replica started after events were stored, with no ring to backfill (or a
// ring smaller than the backlog), still owes a resuming client everything
// after its id: the chaos test in e2e/pipeline caught a replica that started
// at the stream's end and told such a client there was nothing to replay.
func TestResumeOnFreshReplica(t *testing.T) {
	for _, ring := range []int{0, 3} {
		t.Run("ring "+strconv.Itoa(ring), func(t *testing.T) {
			e := newEnv(t, jetstream.StreamConfig{})
			var all []published
			for i := range 8 {
				all = append(all, published{streamtest.Publish(t, e.js, "room.1", "", strconv.Itoa(i)), "room.1"})
			}
			fresh := startApp(t, e.nats.URL(), true, func(c *config.Config) { c.RingSize = ring })
			c := streamtest.Dial(t, fresh.streamURL("room.*"), http.Header{"Last-Event-Id": {uitoa(all[1].seq)}})
			if it, _ := c.Next(5 * time.Second); it.Type != "herald.connected" {
				t.Fatalf("first: %+v", it)
			}
			all = append(all, published{streamtest.Publish(t, e.js, "room.1", "", "live"), "room.1"})
			expectExactly(t, c, all, all[1].seq, "room.*")
		})
	}
}
