package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

type publishFlags struct {
	common
	typ   string
	text  bool
	batch int
	key   string
}

// publish: one event from DATA, or one event per line of stdin (DATA "-"
// or absent). DATA that is valid JSON is sent as JSON, anything else (or
// everything with --text) as a string. Each stored id is printed on its
// own line. With --idempotency-key K a single event carries K and the
// line n of stdin carries K-n, so re-running the same input stores
// nothing twice (within events.duplicate_window).
func publish(ctx context.Context, args []string, e env) error {
	var f publishFlags
	fs := newFlags("publish", "usage: herald publish CHANNEL [DATA|-] [--type T] [--text] [--batch N] [--idempotency-key K]", e, &f.common)
	fs.StringVar(&f.typ, "type", "", "event type (default message)")
	fs.BoolVar(&f.text, "text", false, "send data as a string even when it is valid JSON")
	fs.IntVar(&f.batch, "batch", 1, "events per request when reading stdin (1..the api's api.batch_max)")
	fs.StringVar(&f.key, "idempotency-key", "", "Idempotency-Key; stdin line n gets KEY-n")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return fail(exitUsage, "want CHANNEL and at most one DATA")
	}
	if f.batch < 1 {
		return fail(exitUsage, "--batch must be at least 1")
	}
	ch := pos[0]
	if len(pos) == 2 && pos[1] != "-" {
		return publishOne(ctx, f, e, ch, pos[1], f.key)
	}

	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var pending []batchEvent
	n := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		defer func() { pending = pending[:0] }()
		if f.batch == 1 {
			return publishOne(ctx, f, e, ch, pending[0].line, derefOr(pending[0].IdempotencyKey))
		}
		return publishBatch(ctx, f, e, pending)
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		ev := batchEvent{Channel: ch, Data: toData(line, f.text), line: line}
		if f.typ != "" {
			ev.Type = &f.typ
		}
		if f.key != "" {
			k := f.key + "-" + strconv.Itoa(n)
			ev.IdempotencyKey = &k
		}
		pending = append(pending, ev)
		if len(pending) >= f.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fail(exitFailure, "reading stdin: %v", err)
	}
	return flush()
}

func derefOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// toData is the JSON of an event's data.
func toData(s string, text bool) json.RawMessage {
	if !text && json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

type batchEvent struct {
	Channel        string          `json:"channel"`
	Type           *string         `json:"type,omitempty"`
	Data           json.RawMessage `json:"data"`
	IdempotencyKey *string         `json:"idempotency_key,omitempty"`
	line           string
}

func publishOne(ctx context.Context, f publishFlags, e env, ch, data, key string) error {
	body := map[string]any{"data": toData(data, f.text)}
	if f.typ != "" {
		body["type"] = f.typ
	}
	b, _ := json.Marshal(body)
	hdr := map[string]string{}
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	res, rb, err := do(ctx, f.common, http.MethodPost, "/api/v1/channels/"+pathEscape(ch)+"/events", "application/json", bytes.NewReader(b), hdr)
	if err != nil {
		return err
	}
	if err := wantStatus(res, rb, http.StatusCreated, http.StatusOK); err != nil {
		return err
	}
	var out struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(rb, &out) != nil || out.ID == "" {
		return fail(exitFailure, "unexpected answer %s", rb)
	}
	fmt.Fprintln(e.stdout, out.ID)
	return nil
}

func publishBatch(ctx context.Context, f publishFlags, e env, evs []batchEvent) error {
	b, _ := json.Marshal(map[string]any{"events": evs})
	res, rb, err := do(ctx, f.common, http.MethodPost, "/api/v1/events", "application/json", bytes.NewReader(b), nil)
	if err != nil {
		return err
	}
	if err := wantStatus(res, rb, http.StatusCreated, http.StatusMultiStatus); err != nil {
		return err
	}
	var out struct {
		Results []struct {
			Status int      `json:"status"`
			ID     string   `json:"id"`
			Error  *problem `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(rb, &out); err != nil {
		return fail(exitFailure, "unexpected answer: %v", err)
	}
	worst := 0
	var first string
	for i, r := range out.Results {
		if r.Error == nil {
			fmt.Fprintln(e.stdout, r.ID)
			continue
		}
		if first == "" {
			first = fmt.Sprintf("event %d of the batch: %d %s", i+1, r.Status, r.Error.Detail)
		}
		worst = max(worst, codeFor(r.Status))
	}
	if worst != 0 {
		return fail(worst, "%s", first)
	}
	return nil
}
