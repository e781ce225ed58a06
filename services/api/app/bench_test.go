package app_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

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
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
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
			res, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Errorf("status %d", res.StatusCode)
				return
			}
			if n < size {
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
