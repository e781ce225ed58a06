package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-push/herald/bench/internal/ledger"
	"github.com/herald-push/herald/bench/internal/payload"
	"github.com/herald-push/herald/bench/internal/sse"
)

// Shared holds what every subscriber of a run updates and the progress line reads.
type Shared struct {
	Latency     *Recorder // publish (intended) → receive, µs
	Received    atomic.Int64
	Connected   atomic.Int64 // connections currently open
	Ready       atomic.Int64 // subscribers that saw their ready signal once
	Disconnects atomic.Int64
	Reconnects  atomic.Int64
	DialErrors  atomic.Int64
	BadStatus   atomic.Int64
	// CatchSeq, when >= 0, is the sequence of the first event published after
	// a server was killed; a subscriber is caught up once it has every event
	// up to and including it.
	CatchSeq atomic.Int64
	CaughtUp atomic.Int64
}

// NewShared returns counters with a latency recorder of n shards.
func NewShared(n int) *Shared {
	s := &Shared{Latency: NewRecorder(n)}
	s.CatchSeq.Store(-1)
	return s
}

// Options configure one subscriber.
type Options struct {
	URL       *url.URL
	LocalIP   net.IP // source address, e.g. 127.0.0.7
	ReadyType string // event type that means "subscribed"; "" means response headers
	MaxRetry  time.Duration
	Reconnect bool
}

// Subscriber is one simulated browser.
type Subscriber struct {
	ID     int
	Opts   Options
	Ledger *ledger.Sub

	// Written by Run; read after it returns (or via Shared while running).
	ConnectTime  time.Duration // dial start → ready, first connection
	IsReady      bool
	LastErr      string
	Statuses     map[int]int // non-200 statuses seen
	Disconnects  int
	FirstDrop    time.Time // first unplanned disconnect
	CaughtUpAt   time.Time
	Heartbeats   int64
	OtherEvents  int64 // events without a bench payload (e.g. herald.connected)
	readyOnce    sync.Once
	readySignal  chan<- int
	sse          *sse.Reader
	br           *bufio.Reader
	requestBytes []byte
	// rawID is the last SSE id when it was not a decimal number (Nchan's
	// "time:tag"): sent back verbatim on reconnect, as a browser does.
	rawID []byte
}

// maxRawID bounds the non-numeric id kept for Last-Event-ID.
const maxRawID = 128

// Run connects and reads until ctx ends, reconnecting when allowed. ready
// receives the subscriber's ID once, when it first becomes ready.
func (s *Subscriber) Run(ctx context.Context, sh *Shared, ready chan<- int) {
	s.readySignal = ready
	start := time.Now()
	first := true
	delay := time.Second
	for {
		err := s.session(ctx, sh, start, first)
		if ctx.Err() != nil {
			return
		}
		first = false
		if err != nil {
			s.LastErr = err.Error()
		}
		if s.FirstDrop.IsZero() && s.IsReady {
			s.FirstDrop = time.Now()
		}
		s.Disconnects++
		sh.Disconnects.Add(1)
		if !s.Opts.Reconnect {
			return
		}
		if s.sse != nil && s.sse.Retry() >= 0 {
			delay = time.Duration(s.sse.Retry()) * time.Millisecond
		}
		delay = min(delay, s.Opts.MaxRetry)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		sh.Reconnects.Add(1)
	}
}

// session is one connection: dial, request, headers, events.
func (s *Subscriber) session(ctx context.Context, sh *Shared, start time.Time, first bool) error {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: s.Opts.LocalIP}, Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.Opts.URL.Host)
	if err != nil {
		sh.DialErrors.Add(1)
		return fmt.Errorf("dialing: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	sh.Connected.Add(1)
	defer sh.Connected.Add(-1)

	if _, err := conn.Write(s.request()); err != nil {
		return fmt.Errorf("writing request: %w", err)
	}
	if s.br == nil {
		s.br = bufio.NewReaderSize(conn, 1024)
	} else {
		s.br.Reset(conn)
	}
	resp, err := http.ReadResponse(s.br, nil)
	if err != nil {
		return fmt.Errorf("reading response: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		sh.BadStatus.Add(1)
		if s.Statuses == nil {
			s.Statuses = map[int]int{}
		}
		s.Statuses[resp.StatusCode]++
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if s.sse == nil {
		s.sse = sse.NewReader(resp.Body, 2048, 1<<20)
	} else {
		s.sse.Reset(resp.Body)
	}
	if s.Opts.ReadyType == "" {
		s.markReady(sh, start, first)
	}
	for {
		ev, err := s.sse.Next()
		if err != nil {
			s.Heartbeats = s.sse.Comments()
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading events: %w", err)
		}
		s.onEvent(sh, ev, start, first)
	}
}

func (s *Subscriber) markReady(sh *Shared, start time.Time, first bool) {
	s.readyOnce.Do(func() {
		if first {
			s.ConnectTime = time.Since(start)
		}
		s.IsReady = true
		sh.Ready.Add(1)
		if s.readySignal != nil {
			s.readySignal <- s.ID
		}
	})
}

func (s *Subscriber) onEvent(sh *Shared, ev *sse.Event, start time.Time, first bool) {
	now := time.Now()
	p, ok := payload.Find(ev.Data)
	if !ok {
		s.OtherEvents++
		if s.Opts.ReadyType != "" && string(ev.Type) == s.Opts.ReadyType {
			s.markReady(sh, start, first)
		}
		return
	}
	sh.Received.Add(1)
	if lat := now.UnixNano() - p.Intended; lat > 0 {
		sh.Latency.Record(s.ID, uint64(lat/1000))
	} else {
		sh.Latency.Record(s.ID, 0)
	}
	id, idOK := parseID(ev.ID)
	switch {
	case ev.HasID && !idOK && len(ev.ID) <= maxRawID:
		s.rawID = append(s.rawID[:0], ev.ID...)
	case ev.HasID && idOK:
		s.rawID = s.rawID[:0]
	}
	s.Ledger.Observe(p.Channel, uint64(p.Seq), id, ev.HasID && idOK)
	if cs := sh.CatchSeq.Load(); cs >= 0 && s.CaughtUpAt.IsZero() && len(s.Ledger.Channels) > 0 &&
		s.Ledger.Channels[0].Prefix() > uint64(cs) {
		s.CaughtUpAt = now
		sh.CaughtUp.Add(1)
	}
}

// request builds the GET, with Last-Event-ID when resuming.
func (s *Subscriber) request() []byte {
	b := s.requestBytes[:0]
	b = append(b, "GET "...)
	b = append(b, s.Opts.URL.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, s.Opts.URL.Host...)
	b = append(b, "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: herald-bench\r\n"...)
	if len(s.rawID) > 0 {
		b = append(b, "Last-Event-ID: "...)
		b = append(b, s.rawID...)
		b = append(b, "\r\n"...)
	} else if id, ok := s.Ledger.LastID(); ok {
		b = append(b, "Last-Event-ID: "...)
		b = strconv.AppendUint(b, id, 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	s.requestBytes = b
	return bytes.Clone(b)
}

// parseID reads a decimal SSE id without allocating.
func parseID(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}
