package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/kit/problem"
	"github.com/labstack/echo/v4"
)

// Body media types the api accepts.
const (
	mediaJSON = "application/json"
	mediaText = "text/plain"
)

// mediaType returns the request's media type, or a 415 problem when it is
// not one of allowed (or carries a charset other than UTF-8).
func mediaType(c echo.Context, allowed ...string) (string, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	want := strings.Join(allowed, " or ")
	if ct == "" {
		return "", problem.New(http.StatusUnsupportedMediaType, "missing Content-Type; send "+want)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", problem.New(http.StatusUnsupportedMediaType, "malformed Content-Type; send "+want)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", problem.New(http.StatusUnsupportedMediaType, "only the utf-8 charset is supported")
	}
	for _, a := range allowed {
		if mt == a {
			return mt, nil
		}
	}
	return "", problem.New(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s is not supported; send %s", mt, want))
}

// readBody reads the whole body, or fails with 413 past limit bytes.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	req := c.Request()
	tooLarge := problem.New(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit))
	if req.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, badRequest("reading the body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, tooLarge
	}
	return body, nil
}

// pathParam returns the unescaped path parameter name (echo hands over the
// raw, still percent-encoded path segment).
func pathParam(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil {
		return "", badRequest("malformed %s in the path", name)
	}
	return v, nil
}

// decodeStrict decodes one JSON value from data into v: unknown fields and
// anything after the value are errors, reported in plain words.
func decodeStrict(data []byte, v any) error {
	if !utf8.Valid(data) {
		return errors.New("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("malformed JSON: unexpected data after the value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of the body")
	case errors.As(err, &syn):
		return fmt.Errorf("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Errorf("the body must be a JSON object, not %s", typ.Value)
		}
		return fmt.Errorf("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a " + goKind
}

// compactJSON returns raw without insignificant whitespace, so stored data
// is one line and embeds as-is in the SSE envelope.
func compactJSON(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		// raw came from the decoder, so it is valid JSON.
		return raw
	}
	return buf.Bytes()
}

// validateChannel checks a concrete channel name (400).
func validateChannel(name string) error {
	if err := channel.Validate(name); err != nil {
		return badRequest("invalid channel %q: %v", channel.Short(name), err)
	}
	return nil
}

// validateIdempotencyKey: 1..255 bytes of visible ASCII, so it is a safe
// Nats-Msg-Id header value.
func validateIdempotencyKey(k string) error {
	if k == "" || len(k) > 255 {
		return errors.New("idempotency key must be 1 to 255 characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return errors.New("idempotency key must be visible ASCII without spaces")
		}
	}
	return nil
}
