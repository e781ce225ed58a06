// Package control asks the stream replica that holds a live SSE connection to
// change (or report) its channel set, with a protobuf request/reply on
// herald.ctl.conn.<connection_id>. Only the owning replica subscribes to that
// subject, so "no responders" or no answer in time means the connection is
// unknown.
package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// Errors the HTTP layer maps to statuses.
var (
	// ErrNotFound: no replica holds the connection (404).
	ErrNotFound = errors.New("no stream replica holds this connection")
	// ErrUnavailable: NATS is not connected (503).
	ErrUnavailable = errors.New("nats unavailable")
	// ErrBadReply: a replica answered something undecodable (502).
	ErrBadReply = errors.New("bad reply from stream replica")
)

// Client sends control requests.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// New returns a client that waits at most timeout for the owning replica.
func New(nc *nats.Conn, timeout time.Duration) *Client {
	return &Client{nc: nc, timeout: timeout}
}

// Do sends req for connection connID and returns the replica's reply.
func (c *Client) Do(ctx context.Context, connID string, req *heraldv1.ControlRequest) (*heraldv1.ControlReply, error) {
	if !c.nc.IsConnected() {
		return nil, fmt.Errorf("%w: nats is %s", ErrUnavailable, c.nc.Status())
	}
	data, err := proto.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding control request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, channel.ControlSubject(connID), data)
	switch {
	case err == nil:
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, ErrNotFound
	default:
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	reply := &heraldv1.ControlReply{}
	if err := proto.Unmarshal(msg.Data, reply); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	if reply.GetStatus() == heraldv1.ControlReply_STATUS_NOT_FOUND {
		// The connection exists but is another principal's. Answer when a
		// request for an id nobody holds would (at the timeout), so neither
		// the answer nor its timing tells that the id exists.
		<-ctx.Done()
		return nil, ErrNotFound
	}
	return reply, nil
}
