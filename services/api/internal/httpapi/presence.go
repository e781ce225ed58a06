package httpapi

import (
	"errors"
	"net/http"

	"github.com/herald-push/herald/services/api/internal/presence"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/labstack/echo/v4"
)

// presence answers GET /api/v1/channels/{pattern}/presence: connections
// listening to the pattern, summed over the replicas that answered within
// api.presence_timeout. It needs the same subscribe grant as history.
func (s *server) presence(c echo.Context) error {
	pattern, err := s.subscribedPattern(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ans, err := s.Presence.Ask(ctx, pattern, logging.RequestID(ctx))
	if errors.Is(err, presence.ErrUnavailable) {
		return unavailable("NATS is unavailable; retry shortly")
	}
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, ans)
}
