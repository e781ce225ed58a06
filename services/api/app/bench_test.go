package app_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process (api, embedded NATS and the load
// clients together) has used. Per event it is a figure that holds on a
// machine shared with other work, where events/s does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}}
}

// BenchmarkPublish measures single-event publish throughput over real HTTP
// with parallel keep-alive clients against embedded NATS with file storage.
// Each op is one event; events/s is reported.
func BenchmarkPublish(b *testing.B) {
	e := newEnv(b, nil)
	client := benchClient()
	body := []byte(`{"type":"bench","data":{"n":12345,"s":"some text of a typical chat message"}}`)
	url := e.srv.URL + "/api/v1/channels/bench.room1/events"
	b.SetParallelism(32) // 64 concurrent clients on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !post(b, client, url, body) {
				return
			}
		}
	})
	report(b, cpu0)
}

// BenchmarkPublishBatch is the same with 100-event batches; each op is one
// event, so events/s compares directly.
func BenchmarkPublishBatch(b *testing.B) {
	e := newEnv(b, nil)
	client := benchClient()
	const size = 100
	parts := make([]string, size)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"channel":"bench.room%d","data":{"n":%d,"s":"some text of a typical chat message"}}`, i%10, i)
	}
	body := []byte(`{"events":[` + strings.Join(parts, ",") + `]}`)
	url := e.srv.URL + "/api/v1/events"
	b.SetParallelism(4)
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for {
			// Consume up to one batch worth of ops per request.
			n := 0
			for n < size && pb.Next() {
				n++
			}
			if n == 0 {
				return
			}
			if !post(b, client, url, body) {
				return
			}
			if n < size {
				return
			}
		}
	})
	report(b, cpu0)
}

// post sends one publish request and reports whether it was stored (201).
func post(b *testing.B, client *http.Client, url string, body []byte) bool {
	res, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		b.Errorf("status %d", res.StatusCode)
		return false
	}
	return true
}
