package httpapi

import (
	"errors"
	"fmt"
	"github.com/herald-push/herald/proto/channel"
	"net/http"
	"strconv"
	"strings"

	"github.com/herald-push/herald/services/kit/problem"
)

// LastEventIDParam is the query parameter a first connect uses to ask for
// backfill; the Last-Event-ID header (sent by a browser's reconnect) wins.
const LastEventIDParam = "last_event_id"

// query is a parsed, validated /stream request.
type query struct {
	channels []string // sorted, no duplicates
	lastID   uint64
	resume   bool // a last event id was given
}

// parse validates the request. Every error is a *problem.Problem (400).
//
// Bad ids: a last event id that is not a decimal sequence number is a 400,
// whether it came from the query or from the Last-Event-ID header. The header
// normally holds an id this service sent, so a bad one is a client bug, and
// ignoring it would silently replay nothing. An empty header counts as absent
// (EventSource sends none before its first event).
func parse(r *http.Request, maxChannels int) (query, error) {
	var q query
	vals := r.URL.Query()
	set, err := channel.ValidateSet(vals["channel"], maxChannels)
	if err != nil {
		var e *channel.SetError
		if errors.As(err, &e) && e.Kind == channel.Empty {
			return q, problem.New(http.StatusBadRequest, "at least one channel query parameter is required, e.g. /stream?channel=news")
		}
		return q, problem.New(http.StatusBadRequest, err.Error())
	}
	q.channels = set

	raw, from := strings.TrimSpace(r.Header.Get("Last-Event-ID")), "Last-Event-ID header"
	if raw == "" {
		raw, from = strings.TrimSpace(vals.Get(LastEventIDParam)), LastEventIDParam+" query parameter"
	}
	if raw == "" {
		return q, nil
	}
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		if len(raw) > 32 {
			raw = raw[:32] + "…"
		}
		return q, problem.New(http.StatusBadRequest, fmt.Sprintf("%s %q is not an event id (a decimal sequence number)", from, raw))
	}
	q.lastID, q.resume = id, true
	return q, nil
}
