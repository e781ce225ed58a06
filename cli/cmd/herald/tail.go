package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type tailFlags struct {
	common
	from    string
	asJSON  bool
	count   int
	verbose bool
}

// tail subscribes to /stream and prints events until interrupted (or
// --count events). A dropped connection (or herald.expired) reconnects
// with Last-Event-ID set to the last id printed, so nothing is lost or
// repeated; 4xx answers end it with their exit code.
func tail(ctx context.Context, args []string, e env) error {
	var f tailFlags
	fs := newFlags("tail", "usage: herald tail PATTERN... [--from ID] [--json] [--count N]", e, &f.common)
	fs.StringVar(&f.from, "from", "", "start after this event id (replays what came after it)")
	fs.BoolVar(&f.asJSON, "json", false, `print each event as {"id","channel","type","data","time"} instead of its data`)
	fs.IntVar(&f.count, "count", 0, "exit after this many events (0: run until interrupted)")
	fs.BoolVar(&f.verbose, "v", false, "report connects and system events on stderr")
	patterns, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(patterns) == 0 {
		fs.Usage()
		return fail(exitUsage, "want at least one channel or pattern")
	}
	if f.from != "" {
		if _, err := strconv.ParseUint(f.from, 10, 64); err != nil {
			return fail(exitUsage, "--from must be an event id (a whole number), not %q", f.from)
		}
	}
	t := &tailer{f: f, e: e, last: f.from, retry: time.Second}
	q := url.Values{"channel": patterns}
	u := f.base() + "/stream?" + q.Encode()
	for {
		err := t.once(ctx, u)
		var ee *exitError
		switch {
		case errors.Is(err, errDone), ctx.Err() != nil:
			return nil
		case errors.As(err, &ee) && ee.code != exitUnavailable && ee.code != exitFailure:
			return err
		}
		if f.verbose && err != nil {
			fmt.Fprintf(e.stderr, "herald tail: %v; reconnecting in %s\n", err, t.retry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(t.retry):
		}
	}
}

var errDone = errors.New("done")

type tailer struct {
	f       tailFlags
	e       env
	last    string
	retry   time.Duration
	printed int
}

// once runs one connection until it ends.
func (t *tailer) once(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fail(exitUsage, "bad --url %q: %v", t.f.url, err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if t.f.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.f.token)
	}
	if t.last != "" {
		req.Header.Set("Last-Event-ID", t.last)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return statusError(res, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fail(exitFailure, "the answer is %s, not an event stream (is --url Herald's nginx?)", ct)
	}
	return t.read(res.Body)
}

// read parses the stream by the WHATWG rules that matter here.
func (t *tailer) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var id, typ string
	var data strings.Builder
	hasID := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return fail(exitFailure, "the stream ended: %v", err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if data.Len() > 0 || typ != "" {
				if err := t.dispatch(id, hasID, typ, strings.TrimSuffix(data.String(), "\n")); err != nil {
					return err
				}
			}
			id, typ, hasID = "", "", false
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id, hasID = value, true
		case "event":
			typ = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms >= 0 {
				t.retry = min(time.Duration(ms)*time.Millisecond, 30*time.Second)
			}
		}
	}
}

func (t *tailer) dispatch(id string, hasID bool, typ, data string) error {
	if !hasID {
		// System events carry no id.
		switch typ {
		case "herald.gap":
			fmt.Fprintf(t.e.stderr, "herald tail: gap: events were lost before %s\n", data)
		case "herald.expired":
			if t.f.verbose {
				fmt.Fprintln(t.e.stderr, "herald tail: the token expired")
			}
		default:
			if t.f.verbose {
				fmt.Fprintf(t.e.stderr, "herald tail: %s %s\n", typ, data)
			}
		}
		return nil
	}
	t.last = id
	if t.f.asJSON {
		if strings.HasPrefix(data, "{") {
			fmt.Fprintf(t.e.stdout, "{\"id\":%q,%s\n", id, data[1:])
		} else {
			fmt.Fprintln(t.e.stdout, data)
		}
	} else {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		var str string
		switch {
		case json.Unmarshal([]byte(data), &env) != nil || env.Data == nil:
			fmt.Fprintln(t.e.stdout, data)
		case json.Unmarshal(env.Data, &str) == nil:
			// A string (a text/plain or stdin-line publish) prints as
			// itself, so lines published come back as the same lines.
			fmt.Fprintln(t.e.stdout, str)
		default:
			fmt.Fprintln(t.e.stdout, string(env.Data))
		}
	}
	t.printed++
	if t.f.count > 0 && t.printed >= t.f.count {
		return errDone
	}
	return nil
}
