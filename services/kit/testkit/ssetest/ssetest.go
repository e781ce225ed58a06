// Package ssetest is the tests' Server-Sent Events client. It parses a stream
// by the WHATWG "interpreting an event stream" rules (the rules EventSource
// follows), so a test sees exactly what a browser would.
//
// Two ways to read: Open returns a Stream read on the test's goroutine, one
// event at a time, remembering the last event id the way a browser does for
// its reconnect; Dial returns a Client read on its own goroutine as fast as the
// server writes (its queue is unbounded, so a test reading late never makes it
// look slow), whose items include retry fields and comments.
package ssetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Item is one thing a browser's EventSource would act on: a dispatched event,
// a retry change, or (for tests) a comment line.
type Item struct {
	Kind    string // "event", "retry" or "comment"
	ID      string // lastEventId after the block (as EventSource reports it)
	HasID   bool   // the block itself had an id field
	Type    string // "message" when the block had no event field
	Data    string
	Retry   int64
	Comment string
}

// Reader reads the items of an event stream one at a time.
type Reader struct {
	r      io.Reader
	buf    []byte
	b      []byte // unread part of buf
	err    error  // from r, returned once b is used up
	line   []byte // the line being assembled across reads
	cr     bool   // the last line ended in CR: a leading LF belongs to it
	first  bool
	lastID string

	// the block being read (a comment or retry field may come in its middle)
	typ     string
	data    bytes.Buffer
	hasData bool
	hasID   bool
}

// NewReader reads r; lastID is the last event id buffer at the start (what
// the request sent as Last-Event-ID, for a browser's reconnect).
func NewReader(r io.Reader, lastID string) *Reader {
	return &Reader{r: r, buf: make([]byte, 32<<10), first: true, lastID: lastID}
}

// LastEventID is the last event id buffer: what a browser would send as
// Last-Event-ID on reconnect.
func (p *Reader) LastEventID() string { return p.lastID }

// readLine returns the next line without its terminator (CRLF, LF or CR; a
// CR at the end of a read may be followed by the LF of the same terminator
// in the next read).
func (p *Reader) readLine() (string, error) {
	for {
		if p.cr && len(p.b) > 0 {
			p.cr = false
			if p.b[0] == '\n' {
				p.b = p.b[1:]
				continue
			}
		}
		if i := bytes.IndexAny(p.b, "\r\n"); i >= 0 {
			l := string(append(p.line, p.b[:i]...))
			p.line = p.line[:0]
			p.cr = p.b[i] == '\r'
			p.b = p.b[i+1:]
			return l, nil
		}
		p.line = append(p.line, p.b...)
		p.b = nil
		if p.err != nil {
			return "", p.err
		}
		n, err := p.r.Read(p.buf)
		p.b, p.err = p.buf[:n], err
	}
}

// Next returns the next dispatched event, valid retry field or comment line.
// It returns io.EOF (or the read error) when the stream ends; an event not
// terminated by a blank line is discarded, as the spec says.
func (p *Reader) Next() (Item, error) {
	for {
		l, err := p.readLine()
		if err != nil {
			return Item{}, err
		}
		if p.first {
			l = strings.TrimPrefix(l, "\uFEFF")
			p.first = false
		}
		if l == "" {
			it := Item{Kind: "event", ID: p.lastID, HasID: p.hasID, Type: p.typ, Data: strings.TrimSuffix(p.data.String(), "\n")}
			dispatch := p.hasData
			p.typ, p.hasData, p.hasID = "", false, false
			p.data.Reset()
			if !dispatch {
				continue
			}
			if it.Type == "" {
				it.Type = "message"
			}
			return it, nil
		}
		if l[0] == ':' {
			return Item{Kind: "comment", Comment: strings.TrimPrefix(l[1:], " ")}, nil
		}
		field, value, found := strings.Cut(l, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "event":
			p.typ = value
		case "data":
			p.data.WriteString(value)
			p.data.WriteByte('\n')
			p.hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				p.lastID, p.hasID = value, true
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				n, _ := strconv.ParseInt(value, 10, 64)
				return Item{Kind: "retry", Retry: n}, nil
			}
		}
	}
}

// Parse reads an event stream and calls emit for every dispatched event,
// every valid retry field and every comment line, until it ends.
func Parse(r io.Reader, emit func(Item)) {
	p := NewReader(r, "")
	for {
		it, err := p.Next()
		if err != nil {
			return
		}
		emit(it)
	}
}

// get sends a GET for an event stream with hdr (may be nil); the response's
// body ends when cancel is called.
func get(ctx context.Context, client *http.Client, url string, hdr http.Header) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return resp, cancel, nil
}

// Event is one dispatched event, as Stream.Next returns it.
type Event struct {
	ID    string // the last event id buffer after this event (as EventSource's lastEventId)
	HasID bool   // the event itself carried an id field
	Type  string // "message" when the stream gave none
	Data  string
}

// Stream is one open SSE response read on the caller's goroutine.
type Stream struct {
	Resp   *http.Response
	p      *Reader
	cancel context.CancelFunc

	retry int
	// Retries counts valid retry fields seen so far.
	Retries int
	// Comments counts comment lines (heartbeats) seen so far.
	Comments int
}

// Open GETs url with an optional Last-Event-ID and returns the stream once the
// headers arrived. A non-200 response is returned as a *StatusError carrying
// the body.
func Open(ctx context.Context, client *http.Client, url, lastEventID string) (*Stream, error) {
	hdr := http.Header{"Accept": {"text/event-stream"}}
	if lastEventID != "" {
		hdr.Set("Last-Event-ID", lastEventID)
	}
	resp, cancel, err := get(ctx, client, url, hdr)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel()
		return nil, &StatusError{Code: resp.StatusCode, Body: string(body), Header: resp.Header}
	}
	return &Stream{Resp: resp, p: NewReader(resp.Body, lastEventID), cancel: cancel}, nil
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
func (s *Stream) LastEventID() string { return s.p.LastEventID() }

// Retry is the last retry value (ms) the server sent, or 0.
func (s *Stream) Retry() int { return s.retry }

// Next returns the next dispatched event, counting the retry fields and
// comments before it. It returns io.EOF (or the read error) when the stream
// ends.
func (s *Stream) Next() (Event, error) {
	for {
		it, err := s.p.Next()
		if err != nil {
			return Event{}, err
		}
		switch it.Kind {
		case "comment":
			s.Comments++
		case "retry":
			s.retry = int(it.Retry)
			s.Retries++
		default:
			return Event{ID: it.ID, HasID: it.HasID, Type: it.Type, Data: it.Data}, nil
		}
	}
}
