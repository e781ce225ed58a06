package main

import (
	"context"
	"net/http"
)

// presenceCmd prints the api's presence answer for a channel or pattern
// as it comes (one JSON object); a partial answer still exits 0.
func presenceCmd(ctx context.Context, args []string, e env) error {
	var c common
	fs := newFlags("presence", "usage: herald presence PATTERN", e, &c)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fail(exitUsage, "want one channel or pattern")
	}
	res, body, err := do(ctx, c, http.MethodGet, "/api/v1/channels/"+pathEscape(pos[0])+"/presence", "", nil, nil)
	if err != nil {
		return err
	}
	if err := wantStatus(res, body, http.StatusOK); err != nil {
		return err
	}
	_, err = e.stdout.Write(body)
	return err
}
