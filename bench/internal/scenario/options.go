// Package scenario runs one bench scenario — fanout, channels, idle or
// resume — against a target: connect the subscribers, publish on an
// open-loop schedule, drain, and account for every event and every byte of
// server memory.
package scenario

import (
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
	Scenario        string
	Subscribers     int
	Channels        int  // channels scenario: events spread over this many channels
	Wildcard        bool // channels scenario: every subscriber uses prefix.* instead of one channel
	Rate            float64
	Duration        time.Duration
	Drain           time.Duration // max wait for stragglers after the last publish
	ConnectTimeout  time.Duration
	DialConcurrency int
	SourceIPs       int // subscribers spread over 127.0.0.1..127.0.0.N
	ReadyEvent      string
	MaxRetry        time.Duration
	PublishWorkers  int
	Settle          time.Duration // idle: wait before reading memory
	KillAt          time.Duration // resume: when, after publishing starts
	// Kill stops a stream process for the resume scenario.
	Kill       func() error `json:"-"`
	ServerPIDs []int
	// MetricsURLs are Prometheus endpoints of the servers (optional): their Go
	// runtime series split memory into stacks and heap.
	MetricsURLs []string
	Target      target.Target
	Prefix      string    // channel name prefix, unique per run
	Progress    io.Writer `json:"-"`
	Label       string    // e.g. "direct" or "nginx", for the report
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
