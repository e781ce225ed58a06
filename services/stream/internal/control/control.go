// Package control answers channel-change requests for the connections this
// replica holds. One wildcard NATS subscription on herald.ctl.conn.* per
// process (not one per connection) receives every request; a request for a
// connection this replica does not hold gets no reply at all, so the api's
// request returns the one reply of the owning replica, or times out (404).
package control

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/herald-push/herald/services/stream/internal/frame"
	"github.com/herald-push/herald/services/stream/internal/hub"
	"github.com/herald-push/herald/services/stream/internal/metrics"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// Registry maps live connection ids to their subscribers and serves control
// requests for them.
type Registry struct {
	maxChannels int
	log         *slog.Logger
	m           *metrics.Metrics

	mu    sync.RWMutex
	conns map[string]conn

	sub *nats.Subscription
}

// New subscribes to every connection's control subject on nc.
func New(nc *nats.Conn, maxChannels int, log *slog.Logger, m *metrics.Metrics) (*Registry, error) {
	r := &Registry{maxChannels: maxChannels, log: log, m: m, conns: map[string]conn{}}
	sub, err := nc.Subscribe(channel.ControlSubject("*"), r.handle)
	if err != nil {
		return nil, fmt.Errorf("subscribing to control requests: %w", err)
	}
	// Requests are tiny and rare; never drop one because a burst queued up.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, fmt.Errorf("setting control pending limits: %w", err)
	}
	r.sub = sub
	return r, nil
}

// Owner is who opened a connection and what it may subscribe to: only the
// same principal may change its channels, and only within these grants.
type Owner struct {
	Principal string
	Anonymous bool
	Subscribe []string
}

type conn struct {
	sub   *hub.Subscriber
	owner Owner
}

// Add registers the connection id as held by this replica for owner.
func (r *Registry) Add(id string, s *hub.Subscriber, owner Owner) {
	r.mu.Lock()
	r.conns[id] = conn{sub: s, owner: owner}
	r.mu.Unlock()
}

// Remove forgets the connection id.
func (r *Registry) Remove(id string) {
	r.mu.Lock()
	delete(r.conns, id)
	r.mu.Unlock()
}

// Close stops answering requests.
func (r *Registry) Close() error {
	if err := r.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return err
	}
	return nil
}

// handle runs on the subscription's single goroutine, so requests are applied
// one at a time and a read-modify-write (add, remove) cannot interleave.
func (r *Registry) handle(msg *nats.Msg) {
	id, _ := strings.CutPrefix(msg.Subject, channel.ControlPrefix)
	r.mu.RLock()
	c, ok := r.conns[id]
	r.mu.RUnlock()
	if !ok || msg.Reply == "" {
		return // not ours: the owner (if any) answers
	}
	reply := r.apply(id, c, msg.Data)
	r.m.Control.WithLabelValues(strings.ToLower(strings.TrimPrefix(reply.GetStatus().String(), "STATUS_"))).Inc()
	data, err := proto.Marshal(reply)
	if err != nil {
		r.log.Error("encoding control reply", "err", err)
		return
	}
	if err := msg.Respond(data); err != nil {
		r.log.Warn("sending control reply", "conn", logging.ConnHash(id), "err", err)
	}
}

func (r *Registry) apply(id string, c conn, data []byte) *heraldv1.ControlReply {
	var req heraldv1.ControlRequest
	if err := proto.Unmarshal(data, &req); err != nil {
		return &heraldv1.ControlReply{Status: heraldv1.ControlReply_STATUS_BAD_REQUEST, Detail: "control request is not a valid ControlRequest"}
	}
	// Before anything about the connection is said: another principal
	// hears that it does not exist.
	if req.GetPrincipal() != c.owner.Principal || req.GetAnonymous() != c.owner.Anonymous {
		return &heraldv1.ControlReply{Status: heraldv1.ControlReply_STATUS_NOT_FOUND}
	}
	s := c.sub
	cur := s.Channels()
	fail := func(st heraldv1.ControlReply_Status, detail string) *heraldv1.ControlReply {
		return &heraldv1.ControlReply{Status: st, Channels: cur, Detail: detail}
	}
	for _, c := range req.GetChannels() {
		if err := channel.ValidatePattern(c); err != nil {
			return fail(heraldv1.ControlReply_STATUS_INVALID_CHANNEL, fmt.Sprintf("channel %q: %v", channel.Short(c), err))
		}
	}
	var next []string
	switch req.GetOp() {
	case heraldv1.ControlRequest_OP_GET:
		return &heraldv1.ControlReply{Status: heraldv1.ControlReply_STATUS_OK, Channels: cur}
	case heraldv1.ControlRequest_OP_REPLACE:
		next = req.GetChannels()
	case heraldv1.ControlRequest_OP_ADD:
		next = append(slices.Clone(cur), req.GetChannels()...)
	case heraldv1.ControlRequest_OP_REMOVE:
		next = slices.DeleteFunc(slices.Clone(cur), func(c string) bool { return slices.Contains(req.GetChannels(), c) })
	default:
		return fail(heraldv1.ControlReply_STATUS_BAD_REQUEST, fmt.Sprintf("unknown op %v", req.GetOp()))
	}
	set, err := channel.ValidateSet(next, r.maxChannels)
	if err != nil {
		return fail(refusal(err))
	}
	// The connection's own grants bound its set, whoever asks: the control
	// API cannot widen what the token allowed at connect.
	for _, p := range set {
		if !channel.CoveredBy(c.owner.Subscribe, p) {
			return fail(heraldv1.ControlReply_STATUS_FORBIDDEN, fmt.Sprintf("the connection may not subscribe to %q", channel.Short(p)))
		}
	}
	s.SetChannels(set)
	// Events of the new set flow from SetChannels on; the frame tells the
	// client, in order with them, which set it now has.
	s.Send(&hub.Event{Frame: frame.Subscribed(id, set)})
	r.log.Debug("channels changed", "conn", logging.ConnHash(id), "op", req.GetOp().String(), "channels", set, "request_id", req.GetRequestId())
	return &heraldv1.ControlReply{Status: heraldv1.ControlReply_STATUS_OK, Channels: set}
}

// refusal maps a refused channel set to the reply status; an error that is
// not a *channel.SetError (none today) is a bad request, never a nil dereference.
func refusal(err error) (heraldv1.ControlReply_Status, string) {
	var e *channel.SetError
	if !errors.As(err, &e) {
		return heraldv1.ControlReply_STATUS_BAD_REQUEST, err.Error()
	}
	switch e.Kind {
	case channel.Empty:
		return heraldv1.ControlReply_STATUS_EMPTY, "a connection needs at least one channel"
	case channel.TooMany:
		return heraldv1.ControlReply_STATUS_TOO_MANY_CHANNELS, e.Detail
	default:
		return heraldv1.ControlReply_STATUS_INVALID_CHANNEL, e.Detail
	}
}
