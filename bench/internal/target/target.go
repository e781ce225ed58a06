// Package target describes the server under test through URL and body
// templates — so the same scenarios drive Herald or any other SSE server —
// and refuses every address outside loopback.
package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CheckLoopback returns an error unless rawURL is http(s) to a loopback host
// (127.0.0.0/8, ::1 or "localhost").
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("parsing url %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: scheme must be http or https", rawURL)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("url %q: only loopback targets are allowed (127.0.0.0/8, ::1, localhost)", rawURL)
	}
	return nil
}

// Target is a server under test.
type Target struct {
	// SSEURL has {channel} where the (query-escaped) channel goes.
	SSEURL string
	// PublishURL has {channel} where the (path-escaped) channel goes.
	PublishURL string
	// PublishBody has {payload} (a JSON object) and optionally {channel}.
	PublishBody string
	ContentType string
	// PublishHeaders are extra request headers for every publish, "Name:
	// value" each (e.g. a peer's API key: "X-API-Key: ..."). Never written
	// to results.json: they may hold a secret.
	PublishHeaders []string `json:"-"`
}

// Validate checks the templates and that every URL is loopback.
func (t Target) Validate() error {
	if !strings.Contains(t.SSEURL, "{channel}") {
		return errors.New("--sse-url must contain {channel}")
	}
	if !strings.Contains(t.PublishBody, "{payload}") {
		return errors.New("--publish-body must contain {payload}")
	}
	for _, h := range t.PublishHeaders {
		if _, _, err := SplitHeader(h); err != nil {
			return err
		}
	}
	for _, u := range []string{t.SSEURL, t.PublishURL} {
		if err := CheckLoopback(strings.ReplaceAll(u, "{channel}", "x")); err != nil {
			return err
		}
	}
	return nil
}

// SplitHeader splits "Name: value" into a canonical header name and its
// value.
func SplitHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		return "", "", fmt.Errorf("--publish-header %q: want \"Name: value\"", h)
	}
	return http.CanonicalHeaderKey(name), strings.TrimSpace(value), nil
}

// StreamURL returns the subscribe URL for channel.
func (t Target) StreamURL(channel string) (*url.URL, error) {
	return url.Parse(strings.ReplaceAll(t.SSEURL, "{channel}", url.QueryEscape(channel)))
}

// Publisher posts events and returns the id the server gave each.
type Publisher struct {
	t      Target
	client *http.Client
}

// NewPublisher returns a publisher with a keep-alive pool sized for conc
// concurrent requests.
func NewPublisher(t Target, conc int) *Publisher {
	tr := &http.Transport{
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	return &Publisher{t: t, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// Close releases idle connections.
func (p *Publisher) Close() { p.client.CloseIdleConnections() }

// Publish sends payload to channel and returns the numeric id from the
// response body's "id" (0 if the server returns none or a non-numeric one).
func (p *Publisher) Publish(ctx context.Context, channel string, payload []byte) (uint64, error) {
	u := strings.ReplaceAll(p.t.PublishURL, "{channel}", url.PathEscape(channel))
	body := strings.ReplaceAll(p.t.PublishBody, "{channel}", channel)
	body = strings.Replace(body, "{payload}", string(payload), 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", p.t.ContentType)
	for _, h := range p.t.PublishHeaders {
		if name, value, err := SplitHeader(h); err == nil { // Validate refused the bad ones
			req.Header.Add(name, value)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("publishing: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("publishing: status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return ParseID(b), nil
}

// ParseID finds "id":"123" or "id":123 in a JSON response body.
func ParseID(b []byte) uint64 {
	i := bytes.Index(b, []byte(`"id"`))
	if i < 0 {
		return 0
	}
	rest := bytes.TrimLeft(b[i+4:], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return 0
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n\"")
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	id, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	if err != nil {
		return 0
	}
	return id
}
