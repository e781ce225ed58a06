package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-push/herald/e2e/internal/ssetest"
	"github.com/herald-push/herald/e2e/launcher"
	"github.com/herald-push/herald/proto/channel"
)

// TestChaosCluster runs the chaos of the other tests on the launcher's
// 3-node NATS cluster (separate nats-server processes, an R3 event stream)
// and measures what a user of a failing node meets: the stream leader is
// SIGKILLed, then the node holding a replica's consumer, then a node is
// SIGSTOPped for 20 s; each comes back. Every acknowledged event must still
// reach every subscriber of its channel exactly once, in order. The
// measurements are logged, not asserted (no timed assertions): publish
// unavailability after the leader kill, delivery stall after the consumer's
// node dies, how long until the services drop a hung node, and how long
// /readyz takes to tell the truth.
func TestChaosCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster chaos run skipped in -short mode")
	}
	if _, err := launcher.FindNginx(""); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, err := launcher.Start(ctx, launcher.Options{
		NATSCluster: 3,
		Replicas:    2,
		// everything anonymous: this test is about failover, not rights
		Env: []string{"HERALD_AUTH_ANONYMOUS_PUBLISH=>", "HERALD_AUTH_ANONYMOUS_SUBSCRIBE=>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			for _, f := range s.LogFiles() {
				t.Logf("log %s", f)
			}
		}
		s.Close()
	}()
	nc, js := clusterClient(t, s)
	defer nc.Close()
	if info := streamInfo(t, js); info == nil || info.Config.Replicas != 3 {
		t.Fatalf("event stream: %+v, want 3 replicas", info)
	}

	pr := startProbe(t, s)
	defer pr.stop()
	services := append([]string{s.APIURL}, s.StreamURLs...)

	killLeader := func() {
		leader := streamInfo(t, js).Cluster.Leader
		i := s.NATSNodeIndex(leader)
		t.Logf("killing stream leader %s (meta leader %s)", leader, metaLeader(t, s))
		mark := pr.mark()
		killed := time.Now()
		if err := s.KillNATSNode(i); err != nil {
			t.Error(err)
		}
		elected := waitLeader(t, js, leader)
		back := pr.waitPublished(t, mark)
		t.Logf("MEASURE leader kill (%s): new stream leader after %s; publishing unavailable for %s (target ≤ election + 1 s)",
			leader, elected.Sub(killed).Round(time.Millisecond), back.Sub(killed).Round(time.Millisecond))
		restartNode(t, ctx, s, i)
	}
	killConsumerNode := func() {
		leader := streamInfo(t, js).Cluster.Leader
		node := consumerNode(t, js, leader)
		i := s.NATSNodeIndex(node)
		meta := metaLeader(t, s)
		before := restarts(t, s.StreamURLs)
		mark := pr.mark()
		if err := s.KillNATSNode(i); err != nil {
			t.Error(err)
		}
		stall := pr.waitStall(t, mark)
		t.Logf("MEASURE consumer node kill (%s; stream leader %s, meta leader %s): delivery stall %s (target ≤ 3 s); consumer restarts %v → %v",
			node, leader, meta, stall.Round(time.Millisecond), before, restarts(t, s.StreamURLs))
		restartNode(t, ctx, s, i)
	}
	freeze := func() {
		i := busiestNode(t, s)
		t.Logf("freezing %s (stream leader %s, meta leader %s)", s.NATSNodeName(i), streamInfo(t, js).Cluster.Leader, metaLeader(t, s))
		before := reconnects(t, services)
		frozen := time.Now()
		s.FreezeNATSNode(i)
		notReady := waitReadyz(t, services, http.StatusServiceUnavailable, 20*time.Second)
		detected := waitReconnected(t, services, before, 30*time.Second)
		ready := waitReadyz(t, services, http.StatusOK, 30*time.Second)
		if rest := 20*time.Second - time.Since(frozen); rest > 0 {
			time.Sleep(rest) // the fault lasts 20 s, whatever the services do meanwhile
		}
		s.ThawNATSNode(i)
		t.Logf("MEASURE freeze (%s, 20 s): /readyz 503 after %s; every service off the hung node after %s (target ≤ 15 s); /readyz 200 again after %s (target ≤ 15 s)",
			s.NATSNodeName(i), since(frozen, notReady), since(frozen, detected), since(frozen, ready))
		waitNodeHealthy(t, s, i)
	}
	runChaos(t, chaosSeed(t), s.APIURL, func() []string { return s.StreamURLs }, chaosPlan{
		clients: 60, publishers: 2, eventsPerPublisher: 1200, interval: 40 * time.Millisecond,
		dropP: 0.01, stallP: 0.002,
		disruptions: []func(){killLeader, killConsumerNode, freeze},
		at:          []float64{0.1, 0.35, 0.6},
	})
}

func since(t0, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Sub(t0).Round(time.Millisecond).String()
}

func clusterClient(t *testing.T, s *launcher.Stack) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.NATSURL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.PingInterval(time.Second), nats.MaxPingsOutstanding(2))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// streamInfo asks for the event stream's info, retrying through elections.
func streamInfo(t *testing.T, js jetstream.JetStream) *jetstream.StreamInfo {
	t.Helper()
	var info *jetstream.StreamInfo
	eventually(t, 30*time.Second, "stream info", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := js.Stream(ctx, channel.StreamName)
		if err != nil {
			return false
		}
		info, err = st.Info(ctx)
		return err == nil && info.Cluster != nil && info.Cluster.Leader != ""
	})
	return info
}

// waitLeader waits for a stream leader other than old and returns when.
func waitLeader(t *testing.T, js jetstream.JetStream, old string) time.Time {
	t.Helper()
	eventually(t, 30*time.Second, "a new stream leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		st, err := js.Stream(ctx, channel.StreamName)
		if err != nil {
			return false
		}
		info, err := st.Info(ctx)
		return err == nil && info.Cluster != nil && info.Cluster.Leader != "" && info.Cluster.Leader != old
	})
	return time.Now()
}

// consumerNode returns the node holding a stream replica's consumer,
// preferring one that is not the stream leader (so the stall measured is the
// consumer's, not an election's).
func consumerNode(t *testing.T, js jetstream.JetStream, leader string) string {
	t.Helper()
	var nodes []string
	eventually(t, 30*time.Second, "the replicas' consumers", func() bool {
		nodes = nodes[:0]
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := js.Stream(ctx, channel.StreamName)
		if err != nil {
			return false
		}
		l := st.ListConsumers(ctx)
		for ci := range l.Info() {
			if strings.HasPrefix(ci.Name, "herald-stream-") && ci.Cluster != nil && ci.Cluster.Leader != "" {
				nodes = append(nodes, ci.Cluster.Leader)
			}
		}
		return l.Err() == nil && len(nodes) >= 2
	})
	for _, n := range nodes {
		if n != leader {
			return n
		}
	}
	return nodes[0]
}

func restartNode(t *testing.T, ctx context.Context, s *launcher.Stack, i int) {
	t.Helper()
	if err := s.RestartNATSNode(ctx, i); err != nil {
		t.Fatal(err)
	}
}

func waitNodeHealthy(t *testing.T, s *launcher.Stack, i int) {
	t.Helper()
	eventually(t, 60*time.Second, s.NATSNodeName(i)+" healthy", func() bool {
		return get(s.NATSNodeMonitorURL(i)+"/healthz") == http.StatusOK
	})
}

// metaLeader is the JetStream meta leader as a live node reports it.
func metaLeader(t *testing.T, s *launcher.Stack) string {
	for i := range s.NATSNodes() {
		var jsz struct {
			Meta struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		if getJSON(s.NATSNodeMonitorURL(i)+"/jsz", &jsz) == nil && jsz.Meta.Leader != "" {
			return jsz.Meta.Leader
		}
	}
	return "unknown"
}

// busiestNode is the node most Herald connections use (the api's and the
// replicas'), so freezing it tests their detection.
func busiestNode(t *testing.T, s *launcher.Stack) int {
	t.Helper()
	best, most := 0, -1
	for i := range s.NATSNodes() {
		var cz struct {
			Conns []struct {
				Name string `json:"name"`
			} `json:"connections"`
		}
		if err := getJSON(s.NATSNodeMonitorURL(i)+"/connz?limit=1024", &cz); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range cz.Conns {
			if strings.HasPrefix(c.Name, "herald-") {
				n++
			}
		}
		if n > most {
			best, most = i, n
		}
	}
	return best
}

var probeClient = &http.Client{Timeout: 3 * time.Second}

func get(url string) int {
	resp, err := probeClient.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func getJSON(url string, v any) error {
	resp, err := probeClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func getBody(url string) string {
	resp, err := probeClient.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// counter sums the samples of metric name in a Prometheus text page.
func counter(page, name string) float64 {
	var sum float64
	for _, l := range strings.Split(page, "\n") {
		if !strings.HasPrefix(l, name) || (len(l) > len(name) && l[len(name)] != ' ' && l[len(name)] != '{') {
			continue
		}
		f := strings.Fields(l)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

func restarts(t *testing.T, urls []string) []float64 {
	var out []float64
	for _, u := range urls {
		out = append(out, counter(getBody(u+"/metrics"), "herald_stream_consumer_restarts_total"))
	}
	return out
}

func reconnectCount(u string) float64 {
	page := getBody(u + "/metrics")
	return counter(page, "herald_api_nats_reconnects_total") + counter(page, "herald_stream_nats_reconnects_total")
}

func reconnects(t *testing.T, urls []string) []float64 {
	var out []float64
	for _, u := range urls {
		out = append(out, reconnectCount(u))
	}
	return out
}

// waitReconnected returns when every service whose NATS connection used the
// frozen node has reconnected elsewhere: its reconnect counter grew, and a
// service that was not on it keeps answering /readyz 200. Zero time if not
// within limit.
func waitReconnected(t *testing.T, urls []string, before []float64, limit time.Duration) time.Time {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		done := true
		for i, u := range urls {
			if reconnectCount(u) <= before[i] && get(u+"/readyz") != http.StatusOK {
				done = false
			}
		}
		if done {
			return time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}
}

// waitReadyz returns when any (503) or every (200) service's /readyz
// answers status; zero time if not within limit.
func waitReadyz(t *testing.T, urls []string, status int, limit time.Duration) time.Time {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		n := 0
		for _, u := range urls {
			if get(u+"/readyz") == status {
				n++
			}
		}
		if (status == http.StatusOK && n == len(urls)) || (status != http.StatusOK && n > 0) {
			return time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}
}

// probe publishes to a channel no chaos client reads, every 50 ms, and reads
// it from every replica directly, recording when each event was acked and
// when each replica delivered it.
type probe struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	n       int                  // probe events attempted
	acked   map[uint64]time.Time // seq → ack time
	ackN    map[uint64]int       // seq → attempt index
	arrived []map[uint64]time.Time
}

const probeChannel = "probe"

func startProbe(t *testing.T, s *launcher.Stack) *probe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &probe{cancel: cancel, acked: map[uint64]time.Time{}, ackN: map[uint64]int{}}
	for i, u := range s.StreamURLs {
		p.arrived = append(p.arrived, map[uint64]time.Time{})
		p.wg.Go(func() { p.read(ctx, i, u) })
	}
	p.wg.Go(func() {
		client := &http.Client{Timeout: 10 * time.Second}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			p.mu.Lock()
			p.n++
			n := p.n
			p.mu.Unlock()
			res, err := publish(client, s.APIURL, probeChannel, "probe", n, "")
			if err != nil {
				continue
			}
			seq, _ := strconv.ParseUint(res.ID, 10, 64)
			p.mu.Lock()
			p.acked[seq], p.ackN[seq] = time.Now(), n
			p.mu.Unlock()
		}
	})
	return p
}

func (p *probe) read(ctx context.Context, i int, base string) {
	client := &http.Client{}
	last := ""
	for ctx.Err() == nil {
		st, err := ssetest.Open(ctx, client, base+"/stream?channel="+probeChannel, last)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		for {
			ev, err := st.Next()
			if err != nil {
				break
			}
			if !ev.HasID {
				continue
			}
			last = ev.ID
			seq, _ := strconv.ParseUint(ev.ID, 10, 64)
			p.mu.Lock()
			if _, seen := p.arrived[i][seq]; !seen {
				p.arrived[i][seq] = time.Now()
			}
			p.mu.Unlock()
		}
		st.Close()
	}
}

func (p *probe) stop() { p.cancel(); p.wg.Wait() }

// mark is the probe attempt count now: events attempted after it were
// published after the fault.
func (p *probe) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// waitPublished returns when the first probe attempted after mark was acked.
func (p *probe) waitPublished(t *testing.T, mark int) time.Time {
	t.Helper()
	var at time.Time
	eventually(t, 60*time.Second, "a probe publish after the fault", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for seq, n := range p.ackN {
			if n > mark && (at.IsZero() || p.acked[seq].Before(at)) {
				at = p.acked[seq]
			}
		}
		return !at.IsZero()
	})
	return at
}

// waitStall waits until every replica has delivered a probe acked 5 s after
// mark, then returns the longest ack-to-delivery time of any probe attempted
// after mark on any replica: how long an event published during the fault
// waited to reach its subscribers.
func (p *probe) waitStall(t *testing.T, mark int) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, 60*time.Second, "every replica delivering probes after the fault", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i := range p.arrived {
			ok := false
			for seq, at := range p.acked {
				if _, got := p.arrived[i][seq]; got && at.After(start.Add(5*time.Second)) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	var worst time.Duration
	var seqs []uint64
	for seq, n := range p.ackN {
		if n > mark {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		for i := range p.arrived {
			if at, ok := p.arrived[i][seq]; ok {
				worst = max(worst, at.Sub(p.acked[seq]))
			}
		}
	}
	return worst
}
