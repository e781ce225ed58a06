package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/api/internal/control"
	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/labstack/echo/v4"
)

type channelsBody struct {
	Channels []string `json:"channels"`
}

type channelsAnswer struct {
	ConnectionID string   `json:"connection_id"`
	Channels     []string `json:"channels"`
}

func (s *server) controlGet(c echo.Context) error {
	return s.control(c, heraldv1.ControlRequest_OP_GET, nil)
}

func (s *server) controlReplace(c echo.Context) error {
	chs, err := s.channelsFromBody(c)
	if err != nil {
		return err
	}
	return s.control(c, heraldv1.ControlRequest_OP_REPLACE, chs)
}

func (s *server) controlAdd(c echo.Context) error {
	chs, err := s.channelsFromBody(c)
	if err != nil {
		return err
	}
	return s.control(c, heraldv1.ControlRequest_OP_ADD, chs)
}

func (s *server) controlRemove(c echo.Context) error {
	name, err := pathParam(c, "channel")
	if err != nil {
		return err
	}
	if err := channel.ValidatePattern(name); err != nil {
		return badRequest("invalid channel %q: %v", channel.Short(name), err)
	}
	return s.control(c, heraldv1.ControlRequest_OP_REMOVE, []string{name})
}

// channelsFromBody reads {"channels":[...]}: names (patterns allowed) must be
// valid (400); the de-duplicated list must hold 1..sse.max_channels (422).
// The replica checks the resulting set again, since an add can overflow it.
func (s *server) channelsFromBody(c echo.Context) ([]string, error) {
	if _, err := mediaType(c, mediaJSON); err != nil {
		return nil, err
	}
	body, err := readBody(c, s.Config.BodyLimit)
	if err != nil {
		return nil, err
	}
	var in channelsBody
	if err := decodeStrict(body, &in); err != nil {
		return nil, badRequest("%v", err)
	}
	if in.Channels == nil {
		return nil, badRequest(`"channels" is required`)
	}
	for i, ch := range in.Channels {
		if err := channel.ValidatePattern(ch); err != nil {
			return nil, badRequest("channels[%d]: invalid channel %q: %v", i, channel.Short(ch), err)
		}
	}
	chs, err := channel.ValidateSet(in.Channels, s.Config.MaxChannels)
	var e *channel.SetError
	switch {
	case err == nil:
		return chs, nil
	case !errors.As(err, &e) || e.Kind == channel.Invalid:
		return nil, badRequest("%v", err)
	case e.Kind == channel.Empty:
		return nil, unprocessable("a connection needs at least one channel")
	default:
		return nil, unprocessable("at most %d channels per connection; got %d", s.Config.MaxChannels, len(channel.Normalize(in.Channels)))
	}
}

// control sends the request to the replica holding the connection.
// The caller's principal goes along: the replica answers only a caller
// that is the connection's own principal, and checks the new set against
// the connection's subscribe rights (not the caller's).
func (s *server) control(c echo.Context, op heraldv1.ControlRequest_Op, chs []string) error {
	rights, err := s.rights(c)
	if err != nil {
		return err
	}
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	if err := validateConnectionID(id); err != nil {
		return err
	}
	ctx := c.Request().Context()
	reply, err := s.Control.Do(ctx, id, &heraldv1.ControlRequest{
		Op: op, Channels: chs, RequestId: logging.RequestID(ctx), Principal: rights.Principal, Anonymous: rights.Anonymous,
	})
	if err != nil {
		return err
	}
	switch reply.GetStatus() {
	case heraldv1.ControlReply_STATUS_OK:
		out := channelsAnswer{ConnectionID: id, Channels: reply.GetChannels()}
		if out.Channels == nil {
			out.Channels = []string{}
		}
		return writeJSON(c, http.StatusOK, out)
	case heraldv1.ControlReply_STATUS_INVALID_CHANNEL, heraldv1.ControlReply_STATUS_BAD_REQUEST:
		return badRequest("%s", detailOr(reply, "the stream replica refused the request"))
	case heraldv1.ControlReply_STATUS_TOO_MANY_CHANNELS:
		return unprocessable("%s", detailOr(reply, fmt.Sprintf("at most %d channels per connection", s.Config.MaxChannels)))
	case heraldv1.ControlReply_STATUS_EMPTY:
		return unprocessable("%s", detailOr(reply, "a connection needs at least one channel"))
	case heraldv1.ControlReply_STATUS_NOT_FOUND:
		return control.ErrNotFound // the very answer of "no replica holds it"
	case heraldv1.ControlReply_STATUS_FORBIDDEN:
		return auth.Forbidden(detailOr(reply, "the connection's rights do not cover these channels"))
	}
	return &echo.HTTPError{Code: http.StatusBadGateway, Message: fmt.Sprintf("the stream replica answered with unknown status %d", reply.GetStatus())}
}

func detailOr(r *heraldv1.ControlReply, fallback string) string {
	if d := r.GetDetail(); d != "" {
		return d
	}
	return fallback
}

// validateConnectionID: ids are what the stream service hands out; anything
// that could not be one NATS subject token is refused before touching NATS.
func validateConnectionID(id string) error {
	if id == "" || len(id) > 128 {
		return badRequest("connection id must be 1 to 128 characters")
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-') {
			return badRequest("connection id may only hold [A-Za-z0-9_-]")
		}
	}
	return nil
}
