package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// history prints the stored events of a channel or pattern, oldest first,
// one JSON object per line ({"id","channel","type","data","time"}),
// following the api's next cursor page after page.
func history(ctx context.Context, args []string, e env) error {
	var c common
	var after string
	var limit, maxEvents int
	fs := newFlags("history", "usage: herald history PATTERN [--after ID] [--limit N] [--max N]", e, &c)
	fs.StringVar(&after, "after", "", "start after this event id")
	fs.IntVar(&limit, "limit", 0, "page size (0: the api's api.history_limit)")
	fs.IntVar(&maxEvents, "max", 0, "stop after this many events (0: all)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fail(exitUsage, "want one channel or pattern")
	}
	if limit < 0 || maxEvents < 0 {
		return fail(exitUsage, "--limit and --max must not be negative")
	}
	printed := 0
	for {
		q := url.Values{}
		if after != "" {
			q.Set("after", after)
		}
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		path := "/api/v1/channels/" + pathEscape(pos[0]) + "/events"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		res, body, err := do(ctx, c, http.MethodGet, path, "", nil, nil)
		if err != nil {
			return err
		}
		if err := wantStatus(res, body, http.StatusOK); err != nil {
			return err
		}
		var page struct {
			Events []json.RawMessage `json:"events"`
			Next   *string           `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fail(exitFailure, "unexpected answer: %v", err)
		}
		for _, ev := range page.Events {
			fmt.Fprintln(e.stdout, string(ev))
			printed++
			if maxEvents > 0 && printed >= maxEvents {
				return nil
			}
		}
		if page.Next == nil || len(page.Events) == 0 {
			return nil
		}
		after = *page.Next
	}
}
