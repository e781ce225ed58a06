// Package sse parses a text/event-stream the way a browser's EventSource does
// (WHATWG HTML, "Interpreting an event stream"), with a fixed buffer per
// connection and no allocation per event, so one load-generator process can
// hold ten thousand streams on two cores.
package sse

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// ErrLineTooLong means one line exceeded the reader's maximum size.
var ErrLineTooLong = errors.New("sse: line too long")

// Event is one dispatched event. Its byte slices alias the Reader's buffers
// and are valid only until the next call to Next.
type Event struct {
	// Type is the event type; "message" when the stream gave none.
	Type []byte
	// Data is the data buffer with the final LF removed.
	Data []byte
	// ID is the last event ID buffer. Per the spec it persists across
	// events, so an event without an id line reports the previous id.
	ID []byte
	// HasID reports whether this event's own block carried an id field.
	HasID bool
}

var defaultType = []byte("message")

// Reader reads events from an event stream.
type Reader struct {
	src     io.Reader
	buf     []byte
	r, w    int
	maxLine int
	err     error
	started bool // BOM check done

	data     []byte
	typ      []byte
	id       []byte
	hasID    bool
	sawID    bool
	retry    int64
	comments int64
	ev       Event
}

// NewReader returns a Reader with an initial buffer of size bytes that may
// grow up to maxLine bytes for a single line.
func NewReader(src io.Reader, size, maxLine int) *Reader {
	if size < 64 {
		size = 64
	}
	if maxLine < size {
		maxLine = size
	}
	return &Reader{src: src, buf: make([]byte, size), maxLine: maxLine, retry: -1}
}

// Reset makes the Reader read a new stream from src, keeping its buffers
// but not its last event ID (a new connection starts fresh only if the
// caller wants it to: the ID is kept, as a browser keeps it on reconnect).
func (r *Reader) Reset(src io.Reader) {
	r.src, r.r, r.w, r.err, r.started = src, 0, 0, nil, false
	r.data, r.typ, r.hasID, r.sawID = r.data[:0], r.typ[:0], false, false
}

// Retry returns the last valid retry value in milliseconds, or -1.
func (r *Reader) Retry() int64 { return r.retry }

// Comments returns how many comment lines (such as heartbeats) were read.
func (r *Reader) Comments() int64 { return r.comments }

// LastEventID returns the last event ID buffer.
func (r *Reader) LastEventID() []byte { return r.id }

// Next returns the next dispatched event. At the end of the stream it
// returns io.EOF (an unterminated last event is discarded, as the spec says).
func (r *Reader) Next() (*Event, error) {
	for {
		line, err := r.line()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			if ev := r.dispatch(); ev != nil {
				return ev, nil
			}
			continue
		}
		r.field(line)
	}
}

func (r *Reader) dispatch() *Event {
	hasID := r.hasID
	r.hasID = false
	if len(r.data) == 0 {
		r.typ = r.typ[:0]
		return nil
	}
	r.ev.Data = r.data[:len(r.data)-1] // strip the final LF
	r.ev.Type = defaultType
	if len(r.typ) > 0 {
		r.ev.Type = r.typ
	}
	r.ev.ID, r.ev.HasID = r.id, hasID
	// The caller reads these slices before the next call; truncating now is
	// safe because appends only happen on that next call.
	r.data, r.typ = r.data[:0], r.typ[:0]
	return &r.ev
}

func (r *Reader) field(line []byte) {
	if line[0] == ':' {
		r.comments++
		return
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) { // no allocation: compiler optimises the conversion
	case "data":
		r.data = append(r.data, value...)
		r.data = append(r.data, '\n')
	case "event":
		r.typ = append(r.typ[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			r.id = append(r.id[:0], value...)
			r.hasID = true
		}
	case "retry":
		if n, ok := digits(value); ok {
			r.retry = n
		}
	}
}

func digits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// line returns the next line without its terminator (CRLF, LF or CR).
func (r *Reader) line() ([]byte, error) {
	for {
		if !r.started && r.w-r.r >= 3 {
			r.started = true
			if bytes.HasPrefix(r.buf[r.r:r.w], []byte("\xEF\xBB\xBF")) {
				r.r += 3
			}
		}
		if r.started || r.err != nil {
			seg := r.buf[r.r:r.w]
			if i := bytes.IndexByte(seg, '\n'); i >= 0 {
				line := seg[:i]
				if j := bytes.IndexByte(line, '\r'); j >= 0 {
					// A CR before the LF ends the line: CRLF if adjacent, else a lone CR.
					if j == i-1 {
						r.r += i + 1
					} else {
						r.r += j + 1
					}
					return line[:j], nil
				}
				r.r += i + 1
				return line, nil
			}
			if j := bytes.IndexByte(seg, '\r'); j >= 0 && (j < len(seg)-1 || r.err != nil) {
				r.r += j + 1
				return seg[:j], nil
			}
		}
		if r.err != nil {
			return nil, r.err
		}
		r.fill()
	}
}

func (r *Reader) fill() {
	if r.r > 0 {
		n := copy(r.buf, r.buf[r.r:r.w])
		r.r, r.w = 0, n
	}
	if r.w == len(r.buf) {
		if len(r.buf) >= r.maxLine {
			r.err = ErrLineTooLong
			return
		}
		nb := make([]byte, min(2*len(r.buf), r.maxLine))
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	n, err := r.src.Read(r.buf[r.w:])
	r.w += n
	if err != nil {
		r.err = err
		r.started = true
	}
}
