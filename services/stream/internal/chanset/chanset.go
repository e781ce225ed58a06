// Package chanset validates and normalises the channel set of one connection,
// the same way for a new stream (query parameters) and for a control request
// (the channel-switch API), and derives the JetStream filter subjects a replay
// reads with.
package chanset

import (
	"fmt"
	"slices"
	"strings"

	"github.com/herald-push/herald/proto/channel"
)

// Error says why a set was refused; Kind lets callers map it to a status.
type Error struct {
	Kind   Kind
	Detail string
}

// Kind classifies a refused set.
type Kind int

// Kinds of refusal.
const (
	Invalid Kind = iota + 1 // a name or pattern is not valid
	TooMany                 // more than the allowed number of channels
	Empty                   // no channel at all
)

func (e *Error) Error() string { return e.Detail }

// Validate checks every pattern, then returns the set sorted and without
// duplicates. A set must hold 1..max distinct patterns.
func Validate(patterns []string, max int) ([]string, error) {
	for _, p := range patterns {
		if err := channel.ValidatePattern(p); err != nil {
			return nil, &Error{Kind: Invalid, Detail: fmt.Sprintf("channel %q: %v", truncate(p), err)}
		}
	}
	set := Normalize(patterns)
	switch {
	case len(set) == 0:
		return nil, &Error{Kind: Empty, Detail: "at least one channel is required"}
	case len(set) > max:
		return nil, &Error{Kind: TooMany, Detail: fmt.Sprintf("%d channels requested, at most %d allowed", len(set), max)}
	}
	return set, nil
}

// Normalize returns patterns sorted and without duplicates, in a new slice.
func Normalize(patterns []string) []string {
	out := slices.Clone(patterns)
	slices.Sort(out)
	return slices.Compact(out)
}

// truncate keeps a hostile name from flooding an error message.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Covers reports whether every channel matching q also matches p (both valid
// patterns): JetStream refuses overlapping filter subjects, so a replay filters
// on the patterns no other pattern covers.
func Covers(p, q string) bool {
	for {
		pt, prest, pmore := strings.Cut(p, ".")
		qt, qrest, qmore := strings.Cut(q, ".")
		switch {
		case pt == ">":
			return true
		case qt == ">":
			return false
		case pt != "*" && pt != qt:
			return false
		case !pmore || !qmore:
			return pmore == qmore
		}
		p, q = prest, qrest
	}
}

// Filters returns the NATS subjects of the patterns of set that no other
// pattern of set covers: a filter set JetStream accepts and that matches
// exactly the channels set matches.
func Filters(set []string) []string {
	set = Normalize(set)
	var out []string
	for i, q := range set {
		covered := false
		for j, p := range set {
			if i != j && Covers(p, q) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, channel.Subject(q))
		}
	}
	return out
}
