package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	streamconfig "github.com/herald-push/herald/services/stream/config"
)

// The chaos tests prove the resume promise: whatever drops a client — its own
// close, a slow-client disconnect, a replica shutting down, NATS restarting —
// it reconnects to either replica with its last id and ends up with exactly
// the acknowledged events of its channels after its first one: no gap, no
// duplicate, in order. The run is seeded (HERALD_CHAOS_SEED to repeat one).

var chaosChannels = []string{"room.a", "room.b", "room.c", "news.world", "news.sport", "news.sport.f1", "ticker", "alerts"}

var chaosPatterns = []string{"room.a", "room.b", "room.c", "room.*", "news.>", "news.*", "ticker", "alerts", "*.b"}

type ackedEvent struct {
	seq     uint64
	channel string
}

// ledger records every acknowledged publish.
type ledger struct {
	mu          sync.Mutex
	events      []ackedEvent
	unavailable atomic.Int64 // 503 answers seen (NATS down)
}

func (l *ledger) add(seq uint64, ch string) {
	l.mu.Lock()
	l.events = append(l.events, ackedEvent{seq, ch})
	l.mu.Unlock()
}

// expected returns the acked seqs matching patterns with seq >= from, sorted.
func (l *ledger) expected(patterns []string, from uint64) []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []uint64
	for _, e := range l.events {
		if e.seq >= from && slices.ContainsFunc(patterns, func(p string) bool { return channel.Match(p, e.channel) }) {
			out = append(out, e.seq)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// chaosClient is one simulated browser.
type chaosClient struct {
	id       int
	patterns []string
	// backfill clients ask for everything with last_event_id=0 in their URL.
	// Like a browser they keep that URL on every reconnect; once they have an
	// id, their Last-Event-ID header wins over it.
	backfill bool
	rng      *rand.Rand

	mu         sync.Mutex
	received   []uint64
	lastID     string
	reconnects int
	gaps       int
	errs       []string
}

func (c *chaosClient) last() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, _ := strconv.ParseUint(c.lastID, 10, 64)
	return n
}

// run connects, reads and drops until ctx is done.
func (c *chaosClient) run(ctx context.Context, streams func() []string, dropP, stallP float64) {
	client := &http.Client{}
	first := true
	for ctx.Err() == nil {
		urls := streams()
		q := url.Values{"channel": c.patterns}
		if c.backfill {
			q.Set("last_event_id", "0")
		}
		s, err := ssetest.Open(ctx, client, urls[c.rng.IntN(len(urls))]+"/stream?"+q.Encode(), c.lastIDNow())
		if err != nil {
			var se *ssetest.StatusError
			if errors.As(err, &se) && se.Code != http.StatusServiceUnavailable {
				c.fail("connect: %v", err)
				return
			}
			time.Sleep(time.Duration(5+c.rng.IntN(20)) * time.Millisecond) // reconnect backoff, as EventSource's retry
			continue
		}
		if !first {
			c.mu.Lock()
			c.reconnects++
			c.mu.Unlock()
		}
		first = false
		c.read(s, dropP, stallP)
		s.Close()
	}
}

func (c *chaosClient) lastIDNow() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastID
}

func (c *chaosClient) fail(format string, a ...any) {
	c.mu.Lock()
	c.errs = append(c.errs, fmt.Sprintf(format, a...))
	c.mu.Unlock()
}

func (c *chaosClient) read(s *ssetest.Stream, dropP, stallP float64) {
	for {
		ev, err := s.Next()
		if err != nil {
			return // server closed (shutdown, slow, killed) or our own close
		}
		switch {
		case ev.Type == "herald.gap":
			c.mu.Lock()
			c.gaps++
			c.mu.Unlock()
			continue
		case ev.Type == "herald.connected" || ev.Type == "herald.subscribed":
			continue
		case !ev.HasID:
			c.fail("event without id: %+v", ev)
			return
		}
		seq, err := strconv.ParseUint(ev.ID, 10, 64)
		if err != nil {
			c.fail("non-numeric id %q", ev.ID)
			return
		}
		var env envelope
		if err := json.Unmarshal([]byte(ev.Data), &env); err != nil {
			c.fail("bad data %q: %v", ev.Data, err)
			return
		}
		if !slices.ContainsFunc(c.patterns, func(p string) bool { return channel.Match(p, env.Channel) }) {
			c.fail("event %d on %s does not match %v", seq, env.Channel, c.patterns)
		}
		c.mu.Lock()
		c.received = append(c.received, seq)
		c.lastID = ev.ID
		c.mu.Unlock()
		if c.rng.Float64() < dropP {
			return // client-side drop at a random point
		}
		if c.rng.Float64() < stallP {
			time.Sleep(time.Duration(20+c.rng.IntN(60)) * time.Millisecond) // a stalled reader fills its server queue
		}
	}
}

type chaosPlan struct {
	clients, publishers, eventsPerPublisher int
	interval                                time.Duration
	dropP, stallP                           float64
	// disrupt runs at these fractions of the publishing, in order.
	disruptions []func()
	at          []float64
}

func chaosSeed(t *testing.T) uint64 {
	if s := os.Getenv("HERALD_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("HERALD_CHAOS_SEED: %v", err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// runChaos publishes, disrupts and checks every client's history.
func runChaos(t *testing.T, seed uint64, apiURL string, streams func() []string, plan chaosPlan) {
	t.Logf("seed %d (rerun with HERALD_CHAOS_SEED=%d)", seed, seed)
	master := rand.New(rand.NewPCG(seed, 1))
	clients := make([]*chaosClient, plan.clients)
	for i := range clients {
		k := 1 + master.IntN(3)
		var pats []string
		for _, j := range master.Perm(len(chaosPatterns))[:k] {
			pats = append(pats, chaosPatterns[j])
		}
		clients[i] = &chaosClient{id: i, patterns: pats, backfill: master.IntN(10) == 0,
			rng: rand.New(rand.NewPCG(seed, uint64(i)+2))}
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var readers sync.WaitGroup
	for _, c := range clients {
		readers.Go(func() { c.run(ctx, streams, plan.dropP, plan.stallP) })
	}
	led := &ledger{}
	total := plan.publishers * plan.eventsPerPublisher
	var sent atomic.Int64
	var pubs sync.WaitGroup
	pubErr := make(chan error, plan.publishers)
	for p := range plan.publishers {
		rng := rand.New(rand.NewPCG(seed, uint64(1_000_000+p)))
		pubs.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			tick := time.NewTicker(plan.interval)
			defer tick.Stop()
			for i := range plan.eventsPerPublisher {
				<-tick.C
				ch := chaosChannels[rng.IntN(len(chaosChannels))]
				key := fmt.Sprintf("chaos-%d-%d-%d", seed, p, i)
				deadline := time.Now().Add(30 * time.Second)
				for {
					res, err := publish(client, apiURL, ch, "chaos", map[string]int{"p": p, "i": i}, key)
					if err == nil {
						seq, perr := strconv.ParseUint(res.ID, 10, 64)
						if perr != nil {
							pubErr <- fmt.Errorf("publisher %d: id %q is not a number", p, res.ID)
							return
						}
						led.add(seq, ch)
						break
					}
					if errors.Is(err, errUnavailable) {
						led.unavailable.Add(1)
					}
					if time.Now().After(deadline) {
						pubErr <- fmt.Errorf("publisher %d event %d: %w", p, i, err)
						return
					}
					time.Sleep(20 * time.Millisecond) // retry backoff with the same Idempotency-Key
				}
				sent.Add(1)
			}
		})
	}
	for i, disrupt := range plan.disruptions {
		target := int64(plan.at[i] * float64(total))
		testkit.Eventually(t, 60*time.Second, func() bool { return sent.Load() >= target }, "%d events published", target)
		disrupt()
	}
	pubs.Wait()
	close(pubErr)
	for err := range pubErr {
		t.Fatal(err)
	}

	// Wait until every client has caught up to the last acked event of its channels.
	testkit.Eventually(t, 90*time.Second, func() bool {
		for _, c := range clients {
			if want := led.expected(c.patterns, 1); len(want) > 0 && c.last() < want[len(want)-1] {
				return false
			}
		}
		return true
	}, "every client caught up")
	stop()
	readers.Wait()

	var events, reconnects, checked int
	for _, c := range clients {
		c.mu.Lock()
		if len(c.errs) > 0 {
			t.Errorf("client %d %v: %v", c.id, c.patterns, c.errs)
		}
		if c.gaps > 0 {
			t.Errorf("client %d got %d gap events; nothing was outside retention", c.id, c.gaps)
		}
		from := uint64(1)
		if !c.backfill && len(c.received) > 0 {
			from = c.received[0]
		}
		want := led.expected(c.patterns, from)
		if !slices.Equal(c.received, want) {
			t.Errorf("client %d %v (backfill %v): received %d events, want %d\n got %v\nwant %v",
				c.id, c.patterns, c.backfill, len(c.received), len(want), c.received, want)
		}
		events += len(c.received)
		reconnects += c.reconnects
		if len(want) > 0 {
			checked++
		}
		c.mu.Unlock()
	}
	t.Logf("published %d events (%d answers 503 while NATS was down); %d clients (%d with events) received %d events over %d reconnects",
		total, led.unavailable.Load(), len(clients), checked, events, reconnects)
	if reconnects == 0 {
		t.Error("no client ever reconnected: the chaos did nothing")
	}
}

// replicas is the set of stream instances clients pick from; instances are
// replaced while the test runs.
type replicas struct {
	mu   sync.Mutex
	urls []string
}

func (r *replicas) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.urls)
}

// TestChaosResume: 200 clients on mixed channels and wildcards across two
// stream instances (one serving resumes from memory, one from JetStream with a
// tiny queue that makes stalled readers "slow"), random client drops, and each
// instance shut down (SIGTERM path) and restarted mid-run.
func TestChaosResume(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	n := startNATS(t)
	api := startAPI(t, n.URL())
	tunes := []func(*streamconfig.Config){
		func(c *streamconfig.Config) { c.QueueSize = 64 },
		func(c *streamconfig.Config) { c.QueueSize = 8; c.RingSize = 0 },
	}
	inst := make([]*service, 2)
	addrs := make([]string, 2)
	for i := range inst {
		inst[i] = startStream(t, n.URL(), "127.0.0.1:0", tunes[i])
		addrs[i] = inst[i].url[len("http://"):]
	}
	reps := &replicas{urls: []string{inst[0].url, inst[1].url}}
	restart := func(i int) func() {
		return func() {
			inst[i].stop(t)
			inst[i] = startStream(t, n.URL(), addrs[i], tunes[i])
		}
	}
	runChaos(t, chaosSeed(t), api.url, reps.list, chaosPlan{
		clients: 200, publishers: 4, eventsPerPublisher: 150, interval: 10 * time.Millisecond,
		dropP: 0.02, stallP: 0.01,
		disruptions: []func(){restart(0), restart(1)},
		at:          []float64{0.3, 0.6},
	})
}

// TestChaosNATSRestart: the same with NATS stopped and restarted on the same
// store mid-run. Publishes during the outage get 503 and are retried with
// their Idempotency-Key; every acked event still reaches every client.
func TestChaosNATSRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	n := startNATS(t)
	api := startAPI(t, n.URL())
	s1 := startStream(t, n.URL(), "127.0.0.1:0", func(c *streamconfig.Config) { c.QueueSize = 64 })
	s2 := startStream(t, n.URL(), "127.0.0.1:0", func(c *streamconfig.Config) { c.RingSize = 0 })
	reps := &replicas{urls: []string{s1.url, s2.url}}
	outage := func() {
		n.Stop()
		// While NATS is down the api must refuse, not lose: poll until a publish answers 503.
		testkit.Eventually(t, 10*time.Second, func() bool {
			_, err := publish(http.DefaultClient, api.url, "alerts", "probe", 0, "")
			return errors.Is(err, errUnavailable)
		}, "503 while NATS is down")
		n.Start()
	}
	runChaos(t, chaosSeed(t), api.url, reps.list, chaosPlan{
		clients: 100, publishers: 2, eventsPerPublisher: 150, interval: 10 * time.Millisecond,
		dropP: 0.02, stallP: 0.005,
		disruptions: []func(){outage},
		at:          []float64{0.5},
	})
}
