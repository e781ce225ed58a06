package httpapi

import (
	"strconv"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/envelope"
	"github.com/labstack/echo/v4"
)

// history is GET /api/v1/channels/:channel/events?after=<id>&limit=<n>.
// The channel may be a pattern. Events come oldest first in the same
// envelope as the SSE stream (plus "id"); "next" is the cursor to pass as
// after for the following page, or null when no further event exists yet.
func (s *server) history(c echo.Context) error {
	pattern, err := s.subscribedPattern(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	var after uint64
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			// Overflowing ids are client errors too, never a 503 to retry.
			return badRequest("after must be an event id (a whole number), not %q", channel.Short(v))
		}
	}
	limit := s.Config.HistoryLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("limit must be a whole number from 1, not %q", channel.Short(v))
		}
		limit = min(n, s.Config.HistoryLimitMax)
	}

	page, err := s.Store.History(c.Request().Context(), pattern, after, limit, s.Config.HistoryBytesMax)
	if err != nil {
		return err
	}
	if page.Capped {
		s.Metrics.Limited.WithLabelValues("history_bytes_max").Inc()
	}
	size := 32
	for _, st := range page.Events {
		size += len(st.Event.GetData()) + 160
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"events":[`...)
	for i, st := range page.Events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = envelope.AppendWithID(buf, st.Seq, st.Event)
	}
	buf = append(buf, `],"next":`...)
	if page.Next == 0 {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '"')
		buf = strconv.AppendUint(buf, page.Next, 10)
		buf = append(buf, '"')
	}
	buf = append(buf, "}\n"...)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(200, echo.MIMEApplicationJSON, buf)
}

// subscribedPattern reads the :channel pattern of a read route (history,
// presence) and checks the caller may subscribe to it. Reading history is
// subscribing to the past, and presence tells who listens: the pattern
// itself must be covered, so a chat.* grant cannot read chat.> or >.
func (s *server) subscribedPattern(c echo.Context) (string, error) {
	rights, err := s.rights(c)
	if err != nil {
		return "", err
	}
	pattern, err := pathParam(c, "channel")
	if err != nil {
		return "", err
	}
	if err := channel.ValidatePattern(pattern); err != nil {
		return "", badRequest("invalid channel %q: %v", channel.Short(pattern), err)
	}
	if err := canSubscribe(rights, pattern); err != nil {
		return "", err
	}
	return pattern, nil
}
