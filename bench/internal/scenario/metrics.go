package scenario

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// scraped are the Prometheus series the bench reads from a Go server's
// /metrics, to split its memory per connection into stacks and heap.
var scraped = []string{
	"go_goroutines",
	"go_memstats_stack_inuse_bytes",
	"go_memstats_heap_inuse_bytes",
	"go_memstats_heap_alloc_bytes",
	"go_memstats_sys_bytes",
	"go_memstats_heap_objects",
	"process_resident_memory_bytes",
}

// scrape sums the scraped series over every metrics URL; a series with
// labels is summed over them. Unreachable URLs are skipped: this is a
// breakdown, not the measurement itself (RSS from /proc is).
func scrape(ctx context.Context, urls []string) map[string]float64 {
	if len(urls) == 0 {
		return nil
	}
	out := map[string]float64{}
	c := &http.Client{Timeout: 5 * time.Second}
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			continue
		}
		resp, err := c.Do(req)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || line[0] == '#' {
				continue
			}
			name, rest, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			base, _, _ := strings.Cut(name, "{")
			if !wanted(base) {
				continue
			}
			v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err == nil {
				out[base] += v
			}
		}
		resp.Body.Close()
	}
	return out
}

func wanted(name string) bool {
	if strings.HasPrefix(name, "herald_") {
		return true
	}
	for _, s := range scraped {
		if s == name {
			return true
		}
	}
	return false
}
