// Package presence answers "who listens to this pattern" for the
// connections of one stream replica. Every replica subscribes to
// herald.ctl.presence (no queue group: each must answer) and announces
// itself on herald.ctl.replicas at start and every Interval, so the api can
// tell a complete sum from one a replica is missing from.
package presence

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/stream/internal/control"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// Interval is how often a replica announces itself. The api forgets a
// replica it has not heard from for three intervals.
const Interval = 5 * time.Second

// maxPrincipals bounds what one reply may carry whatever the request asks.
const maxPrincipals = 1000

// Source lists the connections of this replica (control.Registry).
type Source interface {
	Each(func(channels []string, owner control.Owner))
}

// Server answers presence requests and announces the replica.
type Server struct {
	id  string
	nc  *nats.Conn
	src Source
	log *slog.Logger

	mu   sync.Mutex
	sub  *nats.Subscription
	stop chan struct{}
	done sync.WaitGroup
}

// New subscribes to presence requests and starts announcing.
func New(nc *nats.Conn, src Source, log *slog.Logger) (*Server, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := &Server{id: hex.EncodeToString(b), nc: nc, src: src, log: log, stop: make(chan struct{})}
	sub, err := nc.Subscribe(channel.PresenceSubject, s.handle)
	if err != nil {
		return nil, fmt.Errorf("subscribing to presence requests: %w", err)
	}
	s.sub = sub
	s.done.Go(s.announce)
	return s, nil
}

// ID is this replica's id in replies and announcements.
func (s *Server) ID() string { return s.id }

// StopAnswering unsubscribes from requests but keeps announcing: what a
// replica that is up yet stuck looks like to the api (tests use it).
func (s *Server) StopAnswering() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub == nil {
		return nil
	}
	err := s.sub.Unsubscribe()
	s.sub = nil
	if errors.Is(err, nats.ErrConnectionClosed) {
		return nil
	}
	if err == nil && s.nc.IsConnected() {
		// A round trip, so the server has dropped the interest before the
		// caller goes on (a request sent right after must not reach us).
		err = s.nc.FlushTimeout(time.Second)
	}
	return err
}

// Close stops answering and announcing.
func (s *Server) Close() error {
	err := s.StopAnswering()
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	s.done.Wait()
	return err
}

func (s *Server) announce() {
	data, _ := proto.Marshal(&heraldv1.ReplicaAnnouncement{ReplicaId: s.id, IntervalMs: uint32(Interval / time.Millisecond)})
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		if s.nc.IsClosed() {
			return
		}
		// A failed publish (NATS down) is retried at the next tick.
		_ = s.nc.Publish(channel.ReplicasSubject, data)
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func (s *Server) handle(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	var req heraldv1.PresenceRequest
	if err := proto.Unmarshal(m.Data, &req); err != nil || channel.ValidatePattern(req.GetPattern()) != nil {
		// The api validates before asking; anything else is not ours.
		return
	}
	data, err := proto.Marshal(Count(s.id, s.src, req.GetPattern(), int(min(req.GetMaxPrincipals(), maxPrincipals))))
	if err != nil {
		s.log.Error("encoding presence reply", "err", err)
		return
	}
	if err := m.Respond(data); err != nil {
		s.log.Warn("sending presence reply", "err", err)
	}
}

// Matches tells whether a connection subscribed to sub listens to asked:
// sub lies within asked (asked covers it) or receives everything asked
// names (it covers asked). Patterns that merely overlap (chat.* and
// *.lobby) do not count.
func Matches(asked, sub string) bool {
	return channel.Covers(asked, sub) || channel.Covers(sub, asked)
}

// Count is the reply of replica id for pattern over src's connections.
// When more than maxPrinc distinct principals match it lists the maxPrinc
// smallest (in byte order), so the api's merge of every replica's list,
// sorted and cut to the same cap, is the same answer whichever order the
// connections are visited in: the globally smallest names are each among
// their replica's smallest.
func Count(id string, src Source, pattern string, maxPrinc int) *heraldv1.PresenceReply {
	out := &heraldv1.PresenceReply{ReplicaId: id, Channels: map[string]uint64{}}
	var kept []string // sorted, distinct, at most maxPrinc
	src.Each(func(chs []string, o control.Owner) {
		hit := false
		for _, c := range chs {
			if Matches(pattern, c) {
				out.Channels[c]++
				hit = true
			}
		}
		if !hit {
			return
		}
		out.Connections++
		if o.Anonymous || o.Principal == "" {
			return
		}
		i, found := slices.BinarySearch(kept, o.Principal)
		if found {
			return
		}
		if len(kept) >= maxPrinc {
			out.PrincipalsTruncated = maxPrinc > 0
			if i >= len(kept) {
				return // larger than every kept name
			}
			kept = kept[:len(kept)-1] // the largest makes room
		}
		kept = slices.Insert(kept, i, o.Principal)
	})
	out.Principals = kept
	return out
}
