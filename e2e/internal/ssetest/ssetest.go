// Package ssetest is the end-to-end tests' Server-Sent Events client. It parses
// a stream by the WHATWG rules (the same rules EventSource follows), so the
// tests see exactly what a browser would, and it remembers the last event id
// the way a browser does for its reconnect.
package ssetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Event is one dispatched event.
type Event struct {
	ID    string // the last event id buffer after this event (as EventSource's lastEventId)
	HasID bool   // the event itself carried an id field
	Type  string // "message" when the stream gave none
	Data  string
}

// Stream is one open SSE response being read.
type Stream struct {
	Resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc

	lastID string
	retry  int
	// Retries counts valid retry fields seen so far.
	Retries int
	// Comments counts comment lines (heartbeats) seen so far.
	Comments int
}

// Open GETs url with an optional Last-Event-ID and returns the stream once the
// headers arrived. A non-200 response is returned as an error carrying the body.
func Open(ctx context.Context, client *http.Client, url, lastEventID string) (*Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel()
		return nil, &StatusError{Code: resp.StatusCode, Body: string(body), Header: resp.Header}
	}
	return &Stream{Resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel, lastID: lastEventID}, nil
}

// StatusError is a non-200 answer to a stream request.
type StatusError struct {
	Code   int
	Body   string
	Header http.Header
}

func (e *StatusError) Error() string { return fmt.Sprintf("stream status %d: %s", e.Code, e.Body) }

// Close ends the stream from the client side.
func (s *Stream) Close() {
	s.cancel()
	s.Resp.Body.Close()
}

// LastEventID is what a browser would send as Last-Event-ID on reconnect.
func (s *Stream) LastEventID() string { return s.lastID }

// Retry is the last retry value (ms) the server sent, or 0.
func (s *Stream) Retry() int { return s.retry }

// Next returns the next dispatched event. It returns io.EOF (or the read
// error) when the stream ends; an event not terminated by a blank line is
// discarded, as the spec says.
func (s *Stream) Next() (Event, error) {
	var data bytes.Buffer
	var typ string
	hasData, hasID := false, false
	for {
		line, err := s.readLine()
		if err != nil {
			return Event{}, err
		}
		if line == "" {
			if !hasData {
				typ, hasID = "", false
				continue
			}
			if typ == "" {
				typ = "message"
			}
			d := strings.TrimSuffix(data.String(), "\n")
			return Event{ID: s.lastID, HasID: hasID, Type: typ, Data: d}, nil
		}
		if line[0] == ':' {
			s.Comments++
			continue
		}
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "event":
			typ = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				s.lastID = value
				hasID = true
			}
		case "retry":
			if n, err := strconv.Atoi(value); err == nil && n >= 0 && strings.Trim(value, "0123456789") == "" {
				s.retry = n
				s.Retries++
			}
		}
	}
}

// readLine reads one line ending in CRLF, LF or CR, without the terminator.
func (s *Stream) readLine() (string, error) {
	var b strings.Builder
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return "", err
		}
		switch c {
		case '\n':
			return b.String(), nil
		case '\r':
			if next, err := s.r.Peek(1); err == nil && next[0] == '\n' {
				_, _ = s.r.ReadByte()
			}
			return b.String(), nil
		}
		b.WriteByte(c)
	}
}
