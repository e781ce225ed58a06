package streamtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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

// Client is an SSE connection parsed by the WHATWG "interpreting an event
// stream" rules, on a goroutine that reads as fast as the server writes
// (its queue is unbounded, so a test reading late never makes it look slow).
type Client struct {
	Resp   *http.Response
	cancel context.CancelFunc

	mu     sync.Mutex
	items  []Item
	ended  bool
	notify chan struct{} // signalled (cap 1) after each append or the end
}

// Dial opens url with optional headers and returns the client once the
// response headers arrived; it fails the test on transport errors only (any
// status is returned for the test to check).
func Dial(t testing.TB, url string, hdr http.Header) *Client {
	t.Helper()
	c, err := TryDial(url, hdr)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(c.Close)
	return c
}

// TryDial is Dial returning the error; the caller must Close the client.
func TryDial(url string, hdr http.Header) (*Client, error) {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	c := &Client{Resp: resp, cancel: cancel, notify: make(chan struct{}, 1)}
	go func() {
		Parse(resp.Body, func(it Item) {
			c.mu.Lock()
			c.items = append(c.items, it)
			c.mu.Unlock()
			c.signal()
		})
		c.mu.Lock()
		c.ended = true
		c.mu.Unlock()
		c.signal()
	}()
	return c, nil
}

func (c *Client) signal() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Close ends the connection (idempotent).
func (c *Client) Close() {
	c.cancel()
	c.Resp.Body.Close()
}

// pop returns the next item; more is false once the stream ended and
// everything was read.
func (c *Client) pop() (it Item, ok, more bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) > 0 {
		it = c.items[0]
		c.items = c.items[1:]
		return it, true, true
	}
	return Item{}, false, !c.ended
}

// Next returns the next item of one of kinds ("event" when none is given);
// ok is false when the stream ended or timeout passed.
func (c *Client) Next(timeout time.Duration, kinds ...string) (Item, bool) {
	if len(kinds) == 0 {
		kinds = []string{"event"}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		it, ok, more := c.pop()
		if ok {
			if slices.Contains(kinds, it.Kind) {
				return it, true
			}
			continue
		}
		if !more {
			return Item{}, false
		}
		select {
		case <-c.notify:
		case <-t.C:
			return Item{}, false
		}
	}
}

// Ended waits for the stream to end and returns the items still unread.
func (c *Client) Ended(timeout time.Duration) ([]Item, bool) {
	var rest []Item
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		it, ok, more := c.pop()
		if ok {
			rest = append(rest, it)
			continue
		}
		if !more {
			return rest, true
		}
		select {
		case <-c.notify:
		case <-t.C:
			return rest, false
		}
	}
}

// Parse reads an event stream by the WHATWG rules and calls emit for every
// dispatched event, every valid retry field and every comment line.
func Parse(r io.Reader, emit func(Item)) {
	var (
		lastID, typ string
		data        bytes.Buffer
		hasData     bool
		blockHasID  bool
		first       = true
	)
	line := func(l string) {
		if first {
			l = strings.TrimPrefix(l, "\uFEFF")
			first = false
		}
		if l == "" {
			if hasData {
				it := Item{Kind: "event", ID: lastID, HasID: blockHasID, Type: typ, Data: strings.TrimSuffix(data.String(), "\n")}
				if it.Type == "" {
					it.Type = "message"
				}
				emit(it)
			}
			data.Reset()
			hasData, typ, blockHasID = false, "", false
			return
		}
		if strings.HasPrefix(l, ":") {
			emit(Item{Kind: "comment", Comment: strings.TrimPrefix(l[1:], " ")})
			return
		}
		field, value, found := strings.Cut(l, ":")
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
				lastID, blockHasID = value, true
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				n, _ := strconv.ParseInt(value, 10, 64)
				emit(Item{Kind: "retry", Retry: n})
			}
		}
	}
	// Lines end at CRLF, CR or LF; a CR at the end of a read may be
	// followed by the LF of the same line terminator in the next read.
	buf := make([]byte, 32<<10)
	var pending []byte
	crPending := false
	for {
		n, err := r.Read(buf)
		b := buf[:n]
		for len(b) > 0 {
			if crPending {
				crPending = false
				if b[0] == '\n' {
					b = b[1:]
					continue
				}
			}
			i := bytes.IndexAny(b, "\r\n")
			if i < 0 {
				pending = append(pending, b...)
				break
			}
			pending = append(pending, b[:i]...)
			line(string(pending))
			pending = pending[:0]
			crPending = b[i] == '\r'
			b = b[i+1:]
		}
		if err != nil {
			return // an incomplete block is discarded, as the spec says
		}
	}
}
