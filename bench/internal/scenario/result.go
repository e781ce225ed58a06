package scenario

import (
	"time"

	"github.com/herald-push/herald/bench/internal/hist"
)

// Percentiles summarises a histogram in milliseconds.
type Percentiles struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// summarise converts a µs histogram to ms percentiles.
func summarise(h *hist.Histogram) Percentiles {
	ms := func(v uint64) float64 { return float64(v) / 1000 }
	return Percentiles{
		Count: h.Count(), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()), Mean: h.Mean() / 1000,
	}
}

// Tick is one second of the run.
type Tick struct {
	T         float64 `json:"t"` // seconds since publishing started (negative while connecting)
	Connected int64   `json:"connected"`
	Published int64   `json:"published"`
	Delivered int64   `json:"delivered"` // events received during this second
	ServerCPU float64 `json:"server_cpu_cores"`
	ServerRSS uint64  `json:"server_rss_bytes"`
	BenchCPU  float64 `json:"bench_cpu_cores"`
	OtherCPU  float64 `json:"other_cpu_cores"` // everything on the machine but the servers and the bench
	P99       float64 `json:"p99_ms"`          // latency of the events received during this second
	Max       float64 `json:"max_ms"`
}

// Server is one server process before and after.
type Server struct {
	PID       int     `json:"pid"`
	Name      string  `json:"name"`
	RSSBefore uint64  `json:"rss_before_bytes"`
	RSSAfter  uint64  `json:"rss_after_bytes"`
	RSSPeak   uint64  `json:"rss_peak_bytes"`
	CPUCores  float64 `json:"cpu_cores_while_publishing"`
	Alive     bool    `json:"alive_at_end"`
}

// Result is everything one run measured.
type Result struct {
	Options Options   `json:"options"`
	Started time.Time `json:"started"`
	// PublishAt is when publishing started, in Tick.T seconds.
	PublishAt float64   `json:"publish_at_s"`
	Load      [2]string `json:"loadavg_start_end"`
	Error     string    `json:"error,omitempty"`

	Connected    int         `json:"connected"`
	ConnectFails int         `json:"connect_failures"`
	ConnectTime  Percentiles `json:"connect_time"`
	ConnectWall  float64     `json:"connect_wall_s"` // time to get every subscriber ready

	Published      int64       `json:"published"`
	PublishErrors  int64       `json:"publish_errors"`
	PublishLatency Percentiles `json:"publish_latency"`
	PublishWall    float64     `json:"publish_wall_s"`

	Expected     uint64      `json:"expected"`
	Delivered    uint64      `json:"delivered"`
	DeliveredPS  float64     `json:"delivered_per_s"` // delivered / (last receive − first intended send)
	PeakPS       int64       `json:"peak_delivered_per_s"`
	Latency      Percentiles `json:"latency"`
	Lost         uint64      `json:"lost"`
	Duplicates   uint64      `json:"duplicates"`
	IDDuplicates uint64      `json:"id_duplicates"`
	LostByID     int64       `json:"lost_by_id"`
	NoID         uint64      `json:"events_without_id"`
	Foreign      uint64      `json:"foreign_events"`
	Disconnects  int64       `json:"disconnects"`
	Reconnects   int64       `json:"reconnects"`
	DrainWait    float64     `json:"drain_wait_s"`
	// DrainTimedOut: events were still arriving when the drain bound hit, so
	// part of Lost is really "later than the drain bound".
	DrainTimedOut bool `json:"drain_timed_out"`

	Servers          []Server `json:"servers"`
	IdleBytesPerConn float64  `json:"idle_rss_bytes_per_conn,omitempty"`
	// IdlePerConnByName splits it by process name (stream, nginx).
	IdlePerConnByName map[string]float64 `json:"idle_rss_bytes_per_conn_by_process,omitempty"`
	ClientRSS         uint64             `json:"bench_rss_bytes"`
	BenchCPU          float64            `json:"bench_cpu_cores_while_publishing"`
	// OtherCPU is what the rest of the machine used meanwhile (cores): the
	// noise this run competed with.
	OtherCPU float64 `json:"other_cpu_cores_while_publishing"`

	// MetricsBefore/After are the servers' /metrics series (summed over
	// replicas) before connecting and at the measurement point.
	MetricsBefore map[string]float64 `json:"metrics_before,omitempty"`
	MetricsAfter  map[string]float64 `json:"metrics_after,omitempty"`

	Resume *ResumeResult `json:"resume,omitempty"`
	Ticks  []Tick        `json:"ticks"`
}

// ResumeResult is what the resume scenario adds.
type ResumeResult struct {
	KillSeq        int64       `json:"kill_seq"`
	Dropped        int         `json:"subscribers_dropped"`
	CaughtUp       int         `json:"caught_up"`
	NotCaughtUp    int         `json:"not_caught_up"`
	CatchUp        Percentiles `json:"catch_up_all"`     // kill → has every event through KillSeq, all subscribers
	CatchUpDropped Percentiles `json:"catch_up_dropped"` // same, only those that lost their connection
}
