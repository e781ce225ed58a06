package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkResume1000Clients: 1,000 clients, each 100 events behind, resume
// at once; one op is all of them receiving their 100 missed events (target:
// ≤ 2 s per op). From the ring (the default) and from JetStream (ring off).
func BenchmarkResume1000Clients(b *testing.B) {
	for _, ring := range []int{10000, 0} {
		name := "ring"
		if ring == 0 {
			name = "jetstream"
		}
		b.Run(name, func(b *testing.B) { benchResume(b, ring) })
	}
}

func benchResume(b *testing.B, ring int) {
	const clients, behind = 1000, 100
	e := newEnv(b, jetstream.StreamConfig{})
	a := startApp(b, e.nats.URL(), true, func(c *config.Config) { c.RingSize = ring })
	var last uint64
	for i := range 2 * behind {
		last = streamtest.Publish(b, e.js, "bench", "", strconv.Itoa(i))
	}
	a.waitSeq(b, last)
	after := strconv.FormatUint(last-behind, 10)
	wantLast := []byte("id: " + strconv.FormatUint(last, 10) + "\n")
	url := a.streamURL("bench")
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for range clients {
			wg.Go(func() {
				if err := resumeOnce(hc, url, after, wantLast); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(clients*behind)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// resumeOnce connects behind and reads until the last missed event's id.
func resumeOnce(hc *http.Client, url, after string, wantLast []byte) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Last-Event-ID", after)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var got []byte
	buf := make([]byte, 32<<10)
	for !bytes.Contains(got, wantLast) {
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}
