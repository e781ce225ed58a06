package ssetest

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// Client is an SSE connection read on its own goroutine as fast as the server
// writes; Next and Ended take what it queued.
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
// status is returned for the test to check). It is closed when the test ends.
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
	resp, cancel, err := get(context.Background(), http.DefaultClient, url, hdr)
	if err != nil {
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

// Next returns the next item of one of kinds ("event" when none is given),
// skipping the others; ok is false when the stream ended or timeout passed.
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
