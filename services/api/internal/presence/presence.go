// Package presence asks every stream replica who listens to a channel or
// pattern and sums the answers: one NATS request on herald.ctl.presence,
// many replies, a short deadline.
//
// Which replicas exist is learnt, not configured: each replica announces
// itself on herald.ctl.replicas at start and every few seconds (and every
// reply names its replica), and the api remembers a replica for three of
// its announcement intervals. An answer is partial when a replica
// remembered at the time of the request did not reply before the deadline.
// The gather ends early once every remembered replica has replied.
package presence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// ErrUnavailable: NATS is not connected (503).
var ErrUnavailable = errors.New("nats unavailable")

// defaultInterval is assumed for a replica known only from a reply.
const defaultInterval = 5 * time.Second

// maxReplies bounds what one gather reads, whatever answers.
const maxReplies = 10000

// Answer is the sum over the replicas that replied.
type Answer struct {
	Pattern             string            `json:"pattern"`
	Connections         uint64            `json:"connections"`
	Channels            map[string]uint64 `json:"channels"`
	Principals          []string          `json:"principals"`
	PrincipalsTruncated bool              `json:"principals_truncated"`
	Replicas            int               `json:"replicas"`
	Partial             bool              `json:"partial"`
}

// Client gathers presence.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
	max     int

	mu    sync.Mutex
	known map[string]time.Time // replica id → forget after
	sub   *nats.Subscription
}

// New starts listening to replica announcements.
func New(nc *nats.Conn, timeout time.Duration, maxPrincipals int) (*Client, error) {
	c := &Client{nc: nc, timeout: timeout, max: maxPrincipals, known: map[string]time.Time{}}
	sub, err := nc.Subscribe(channel.ReplicasSubject, func(m *nats.Msg) {
		var a heraldv1.ReplicaAnnouncement
		if proto.Unmarshal(m.Data, &a) != nil || a.GetReplicaId() == "" {
			return
		}
		iv := time.Duration(a.GetIntervalMs()) * time.Millisecond
		if iv <= 0 || iv > time.Minute {
			iv = defaultInterval
		}
		c.remember(a.GetReplicaId(), iv)
	})
	if err != nil {
		return nil, fmt.Errorf("subscribing to replica announcements: %w", err)
	}
	c.sub = sub
	return c, nil
}

// Close stops listening.
func (c *Client) Close() { _ = c.sub.Unsubscribe() }

func (c *Client) remember(id string, interval time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.known) >= maxReplies {
		return
	}
	c.known[id] = time.Now().Add(3 * interval)
}

// expected is the set of replicas remembered now (forgetting stale ones).
func (c *Client) expected() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	out := map[string]bool{}
	for id, until := range c.known {
		if now.After(until) {
			delete(c.known, id)
			continue
		}
		out[id] = true
	}
	return out
}

// Ask gathers the replicas' answers for pattern (valid, and covered by the
// caller's rights).
func (c *Client) Ask(ctx context.Context, pattern, requestID string) (*Answer, error) {
	if !c.nc.IsConnected() {
		return nil, fmt.Errorf("%w: nats is %s", ErrUnavailable, c.nc.Status())
	}
	data, err := proto.Marshal(&heraldv1.PresenceRequest{Pattern: pattern, MaxPrincipals: uint32(c.max), RequestId: requestID})
	if err != nil {
		return nil, err
	}
	expect := c.expected()
	inbox := c.nc.NewRespInbox()
	replies := make(chan *nats.Msg, 64)
	sub, err := c.nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.nc.PublishRequest(channel.PresenceSubject, inbox, data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	ans := &Answer{Pattern: pattern, Channels: map[string]uint64{}, Principals: []string{}}
	principals := map[string]bool{}
	answered := map[string]bool{}
	for len(answered) < maxReplies && (len(expect) == 0 || missing(expect, answered)) {
		var m *nats.Msg
		select {
		case <-ctx.Done():
			ans.Partial = missing(expect, answered)
			return c.finish(ans, principals, answered), nil
		case m = <-replies:
		}
		var r heraldv1.PresenceReply
		if proto.Unmarshal(m.Data, &r) != nil || r.GetReplicaId() == "" || answered[r.GetReplicaId()] {
			continue
		}
		answered[r.GetReplicaId()] = true
		c.remember(r.GetReplicaId(), defaultInterval)
		ans.Connections += r.GetConnections()
		for ch, n := range r.GetChannels() {
			ans.Channels[ch] += n
		}
		for _, p := range r.GetPrincipals() {
			principals[p] = true
		}
		ans.PrincipalsTruncated = ans.PrincipalsTruncated || r.GetPrincipalsTruncated()
	}
	return c.finish(ans, principals, answered), nil
}

// missing: a replica expected at the start of the request has not
// answered. With none known the gather reads what arrives until the
// deadline, and is not partial.
func missing(expect, answered map[string]bool) bool {
	for id := range expect {
		if !answered[id] {
			return true
		}
	}
	return false
}

func (c *Client) finish(ans *Answer, principals, answered map[string]bool) *Answer {
	for p := range principals {
		ans.Principals = append(ans.Principals, p)
	}
	slices.Sort(ans.Principals)
	if len(ans.Principals) > c.max {
		ans.Principals, ans.PrincipalsTruncated = ans.Principals[:c.max], true
	}
	ans.Replicas = len(answered)
	return ans
}
