package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-push/herald/services/api/internal/store"
	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/problem"
	"github.com/labstack/echo/v4"
)

type batchBody struct {
	Events []json.RawMessage `json:"events"`
}

type batchEvent struct {
	Channel        string          `json:"channel"`
	Type           *string         `json:"type"`
	Data           json.RawMessage `json:"data"`
	IdempotencyKey *string         `json:"idempotency_key"`
}

// batchResult is one entry of a batch answer: status 201 (stored), 200 (a
// de-duplicated retry: the first publish's id) or an error status with the
// problem in "error".
type batchResult struct {
	Status int `json:"status"`
	*published
	Error *problem.Problem `json:"error,omitempty"`
}

// publishBatch is POST /api/v1/events. Every event is validated before any
// is published, so a bad batch stores nothing. Valid batches are published
// in order; the answer is 201 when every event was stored (or was a
// duplicate), 207 with per-event results when only some were (with
// Retry-After when a failure is temporary), and the first failure's problem
// when none were.
func (s *server) publishBatch(c echo.Context) error {
	rights, err := s.rights(c)
	if err != nil {
		return err
	}
	if _, err := mediaType(c, mediaJSON); err != nil {
		return err
	}
	body, err := readBody(c, s.Config.BatchBodyLimit)
	if err != nil {
		return s.countTooLarge(err, "batch_body_limit")
	}
	var in batchBody
	if err := decodeStrict(body, &in); err != nil {
		return badRequest("%v", err)
	}
	switch {
	case in.Events == nil:
		return badRequest(`"events" is required`)
	case len(in.Events) == 0:
		return badRequest(`"events" is empty`)
	case len(in.Events) > s.Config.BatchMax:
		return unprocessable("a batch holds at most %d events; this one has %d", s.Config.BatchMax, len(in.Events))
	}
	ctx := c.Request().Context()
	items := make([]store.Item, len(in.Events))
	for i, raw := range in.Events {
		it, err := s.batchItem(ctx, rights, raw)
		if err != nil {
			var p *problem.Problem
			if errors.As(err, &p) {
				q := *p
				q.Detail = fmt.Sprintf("events[%d]: %s", i, p.Detail)
				return &q
			}
			return err
		}
		items[i] = it
	}

	pctx, cancel := context.WithTimeout(ctx, s.Config.PublishTimeout)
	defer cancel()
	results := s.store(pctx, items)
	out := make([]batchResult, len(results))
	stored, failed := 0, 0
	var firstErr error
	for i, r := range results {
		switch {
		case r.Err != nil:
			failed++
			if firstErr == nil {
				firstErr = r.Err
			}
			p := s.toProblem(r.Err, c)
			out[i] = batchResult{Status: p.Status, Error: p}
			if p.Status == http.StatusServiceUnavailable {
				c.Set(causeKey, r.Err.Error()) // for the access log of a 207
			}
		case r.Duplicate:
			stored++
			out[i] = batchResult{Status: http.StatusOK, published: s.original(pctx, r.Seq, items[i].Event)}
		default:
			stored++
			out[i] = batchResult{Status: http.StatusCreated, published: toPublished(r.Seq, items[i].Event)}
		}
	}
	switch {
	case failed == 0:
		return writeJSON(c, http.StatusCreated, map[string]any{"results": out})
	case stored == 0:
		return firstErr
	}
	for _, r := range out {
		if r.Status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", retryAfter)
			break
		}
	}
	return writeJSON(c, http.StatusMultiStatus, map[string]any{"results": out})
}

// batchItem validates one event of a batch.
// Every channel must be covered by a publish grant: one refused event
// refuses the batch before anything is published.
func (s *server) batchItem(ctx context.Context, rights auth.Rights, raw json.RawMessage) (store.Item, error) {
	var be batchEvent
	if err := decodeStrict(raw, &be); err != nil {
		return store.Item{}, badRequest("%v", err)
	}
	if err := validateChannel(be.Channel); err != nil {
		return store.Item{}, err
	}
	if err := canPublish(rights, be.Channel); err != nil {
		return store.Item{}, err
	}
	if be.Data == nil {
		return store.Item{}, badRequest(`"data" is required (it may be null)`)
	}
	data := compactJSON(be.Data)
	if err := s.checkStored(data); err != nil {
		return store.Item{}, err
	}
	it := store.Item{}
	if be.IdempotencyKey != nil {
		if err := validateIdempotencyKey(*be.IdempotencyKey); err != nil {
			return store.Item{}, badRequest("%v", err)
		}
		it.MsgID = msgID(rights.Principal, *be.IdempotencyKey)
	}
	ev, err := newEvent(ctx, be.Channel, be.Type, data, mediaJSON)
	if err != nil {
		return store.Item{}, err
	}
	it.Event = ev
	return it, nil
}
