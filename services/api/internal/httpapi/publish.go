package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/envelope"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/api/internal/store"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/labstack/echo/v4"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Headers of the publish endpoints.
const (
	headerIdempotencyKey = "Idempotency-Key"
	// headerReplayed marks the answer to a retried Idempotency-Key.
	headerReplayed = "Idempotent-Replayed"
)

// eventBody is the JSON body of a single publish.
type eventBody struct {
	Type *string         `json:"type"`
	Data json.RawMessage `json:"data"`
}

// published is the answer for one stored event.
type published struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	Type    string `json:"type"`
	Time    string `json:"time"`
}

func toPublished(seq uint64, ev *heraldv1.Event) *published {
	ts := ev.GetTime()
	return &published{
		ID:      strconv.FormatUint(seq, 10),
		Channel: ev.GetChannel(),
		Type:    ev.GetType(),
		Time:    time.Unix(ts.GetSeconds(), int64(ts.GetNanos())).UTC().Format(envelope.TimeLayout),
	}
}

// publish is POST /api/v1/channels/:channel/events.
func (s *server) publish(c echo.Context) error {
	rights, err := s.rights(c)
	if err != nil {
		return err
	}
	name, err := pathParam(c, "channel")
	if err != nil {
		return err
	}
	if err := validateChannel(name); err != nil {
		return err
	}
	if err := canPublish(rights, name); err != nil {
		return err
	}
	key, hasKey := c.Request().Header[headerIdempotencyKey]
	id := ""
	if hasKey {
		if err := validateIdempotencyKey(key[0]); err != nil {
			return badRequest("Idempotency-Key: %v", err)
		}
		id = msgID(rights.Principal, key[0])
	}
	mt, err := mediaType(c, mediaJSON, mediaText)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.Config.BodyLimit)
	if err != nil {
		return s.countTooLarge(err, "body_limit")
	}
	q := c.QueryParams()
	var typ *string
	var data []byte
	switch mt {
	case mediaJSON:
		if q.Has("type") {
			return badRequest(`the type query parameter is only for text/plain bodies; put "type" in the JSON body`)
		}
		var in eventBody
		if err := decodeStrict(body, &in); err != nil {
			return badRequest("%v", err)
		}
		if in.Data == nil {
			return badRequest(`"data" is required (it may be null)`)
		}
		typ, data = in.Type, compactJSON(in.Data)
	case mediaText:
		if !utf8.Valid(body) {
			return badRequest("the body is not valid UTF-8")
		}
		if q.Has("type") {
			t := q.Get("type")
			typ = &t
		}
		data = envelope.AppendString(make([]byte, 0, len(body)+2), string(body))
	}
	if err := s.checkStored(data); err != nil {
		return err
	}
	ev, err := newEvent(c.Request().Context(), name, typ, data, mt)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(c.Request().Context(), s.Config.PublishTimeout)
	defer cancel()
	items := []store.Item{{Event: ev, MsgID: id}}
	res := s.store(ctx, items)[0]
	if res.Err != nil {
		return res.Err
	}
	if res.Duplicate {
		c.Response().Header().Set(headerReplayed, "true")
		return writeJSON(c, http.StatusOK, s.original(ctx, res.Seq, ev))
	}
	return writeJSON(c, http.StatusCreated, toPublished(res.Seq, ev))
}

// newEvent builds the event to store; a bad type is a 422.
func newEvent(ctx context.Context, name string, typ *string, data []byte, contentType string) (*heraldv1.Event, error) {
	t := "message"
	if typ != nil {
		if err := channel.ValidateType(*typ); err != nil {
			return nil, unprocessable("invalid type %q: %v", channel.Short(*typ), err)
		}
		t = *typ
	}
	return &heraldv1.Event{
		Channel:     name,
		Type:        t,
		Data:        data,
		ContentType: contentType,
		Time:        timestamppb.Now(),
		RequestId:   logging.RequestID(ctx),
	}, nil
}

// store publishes items and records the metrics of the attempt.
func (s *server) store(ctx context.Context, items []store.Item) []store.Result {
	start := time.Now()
	results := s.Store.PublishBatch(ctx, items)
	s.Metrics.PublishSeconds.Observe(time.Since(start).Seconds())
	for _, r := range results {
		switch {
		case r.Err == nil && r.Duplicate:
			s.Metrics.Published.WithLabelValues("duplicate").Inc()
		case r.Err == nil:
			s.Metrics.Published.WithLabelValues("stored").Inc()
		case errors.Is(r.Err, store.ErrUnavailable):
			s.Metrics.PublishFailures.WithLabelValues("unavailable").Inc()
		case errors.Is(r.Err, store.ErrTooLarge):
			s.Metrics.PublishFailures.WithLabelValues("too_large").Inc()
		default:
			s.Metrics.PublishFailures.WithLabelValues("other").Inc()
		}
	}
	return results
}

// original answers a de-duplicated retry with what the first publish
// answered (its channel, type and time), read back from the stream. If that
// read fails the id is still right, so the retry's own fields are used.
func (s *server) original(ctx context.Context, seq uint64, retry *heraldv1.Event) *published {
	if ev, err := s.Store.Get(ctx, seq); err == nil {
		return toPublished(seq, ev)
	}
	return toPublished(seq, retry)
}

// writeJSON writes v without HTML escaping, like the envelope encoder.
func writeJSON(c echo.Context, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	h.Set("Cache-Control", "no-store")
	return c.Blob(status, echo.MIMEApplicationJSON, buf.Bytes())
}
