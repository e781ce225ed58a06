// Package scenario runs one bench scenario — fanout, channels, idle or
// resume — against a target: connect the subscribers, publish on an
// open-loop schedule, drain, and account for every event and every byte of
// server memory.
package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/herald-push/herald/bench/internal/target"
)

// Scenario names.
const (
	Fanout   = "fanout"
	Channels = "channels"
	Idle     = "idle"
	Resume   = "resume"
)

// Options describe one run.
type Options struct {
	Scenario        string        `json:"scenario"`
	Subscribers     int           `json:"subscribers"`
	Channels        int           `json:"channels"` // channels scenario: events spread over this many channels
	Wildcard        bool          `json:"wildcard"` // channels scenario: every subscriber uses prefix.* instead of one channel
	Rate            float64       `json:"rate"`     // events/s over all channels
	Duration        time.Duration `json:"duration_ns"`
	Drain           time.Duration `json:"drain_ns"`      // max wait for stragglers after the last publish
	DrainIdle       time.Duration `json:"drain_idle_ns"` // stop draining after this long with no event at all
	ConnectTimeout  time.Duration `json:"connect_timeout_ns"`
	DialConcurrency int           `json:"dial_concurrency"`
	SourceIPs       int           `json:"source_ips"` // subscribers spread over 127.0.0.1..127.0.0.N
	ReadyEvent      string        `json:"ready_event"`
	MaxRetry        time.Duration `json:"max_retry_ns"`
	// NoReconnect makes a dropped subscriber stay down (a browser would
	// reconnect and resume; by default the bench does too).
	NoReconnect    bool          `json:"no_reconnect"`
	PublishWorkers int           `json:"publish_workers"`
	Settle         time.Duration `json:"settle_ns"`  // idle: wait before reading memory
	KillAt         time.Duration `json:"kill_at_ns"` // resume: when, after publishing starts
	// Kill stops a stream process for the resume scenario.
	Kill       func() error `json:"-"`
	ServerPIDs []int        `json:"server_pids"`
	// RefreshPIDs, if set, finds the server processes again when one died
	// (a replica restarted after a kill has a new pid).
	RefreshPIDs func() []int  `json:"-"`
	Target      target.Target `json:"target"`
	Prefix      string        `json:"prefix"` // channel name prefix, unique per run
	Label       string        `json:"label"`  // e.g. "direct" or "nginx", for the report
	// MetricsURLs are Prometheus endpoints of the servers (optional): their Go
	// runtime series split memory into stacks and heap.
	MetricsURLs []string  `json:"metrics_urls,omitempty"`
	Progress    io.Writer `json:"-"`
	// OnPublish, if set, is called in its own goroutine when publishing
	// starts (e.g. to profile the server over the publishing window).
	OnPublish func(ctx context.Context, d time.Duration) `json:"-"`
}

// MaxSubscribers is how many subscribers one bench process can hold: the
// open-file limit less a reserve for the publisher, /proc reads and the
// launcher's stack.
func MaxSubscribers() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 1000
	}
	return int(r.Cur) - 500
}

// Validate checks the options and fills defaults.
func (o *Options) Validate() error {
	switch o.Scenario {
	case Fanout, Idle, Resume:
		o.Channels = 1
	case Channels:
		if o.Channels < 1 {
			return errors.New("channels scenario needs --channels >= 1")
		}
	default:
		return fmt.Errorf("unknown scenario %q (fanout, channels, idle, resume)", o.Scenario)
	}
	if o.Subscribers < 1 {
		return errors.New("--subscribers must be >= 1")
	}
	if m := MaxSubscribers(); o.Subscribers > m {
		return fmt.Errorf("--subscribers %d exceeds what one process can hold here (%d: open-file limit less a reserve); run several bench processes", o.Subscribers, m)
	}
	if o.Scenario != Idle && o.Rate <= 0 {
		return errors.New("--rate must be > 0")
	}
	if o.Duration <= 0 || o.Duration > 30*time.Minute {
		return errors.New("--duration must be in (0, 30m]")
	}
	if o.Scenario == Resume && o.Kill == nil {
		return errors.New("resume needs something to kill: --kill-pid or --launch")
	}
	if o.SourceIPs < 1 || o.SourceIPs > 250 {
		return errors.New("--source-ips must be in [1, 250]")
	}
	if o.DialConcurrency < 1 {
		o.DialConcurrency = 1
	}
	if o.DrainIdle <= 0 {
		o.DrainIdle = 3 * time.Second
	}
	if o.PublishWorkers < 1 {
		o.PublishWorkers = 1
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o.Target.Validate()
}

// Timeout is the hard bound on the whole run.
func (o *Options) Timeout() time.Duration {
	return o.ConnectTimeout + o.Settle + o.Duration + o.Drain + 30*time.Second
}
