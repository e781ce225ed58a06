package channel

// A connection's channel set, validated and normalised the same way for a new
// stream (query parameters), a control request (the channel-switch API, in
// both services) and a replay's JetStream filter subjects.

import (
	"fmt"
	"slices"
	"strings"
)

// SetError says why a set was refused; Kind lets callers map it to a status.
type SetError struct {
	Kind   SetErrorKind
	Detail string
}

// SetErrorKind classifies a refused set.
type SetErrorKind int

// Kinds of refusal.
const (
	Invalid SetErrorKind = iota + 1 // a name or pattern is not valid
	TooMany                         // more than the allowed number of channels
	Empty                           // no channel at all
)

func (e *SetError) Error() string { return e.Detail }

// ValidateSet checks every pattern, then returns the set sorted and without
// duplicates. A set must hold 1..max distinct patterns.
func ValidateSet(patterns []string, max int) ([]string, error) {
	for _, p := range patterns {
		if err := ValidatePattern(p); err != nil {
			return nil, &SetError{Kind: Invalid, Detail: fmt.Sprintf("channel %q: %v", Short(p), err)}
		}
	}
	set := Normalize(patterns)
	switch {
	case len(set) == 0:
		return nil, &SetError{Kind: Empty, Detail: "at least one channel is required"}
	case len(set) > max:
		return nil, &SetError{Kind: TooMany, Detail: fmt.Sprintf("%d channels requested, at most %d allowed", len(set), max)}
	}
	return set, nil
}

// Normalize returns patterns sorted and without duplicates, in a new slice.
func Normalize(patterns []string) []string {
	out := slices.Clone(patterns)
	slices.Sort(out)
	return slices.Compact(out)
}

// Short shortens a client-supplied name or value for an error message, so a
// hostile one cannot flood it, and keeps it valid UTF-8.
func Short(s string) string {
	const max = 64
	if len(s) <= max {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ToValidUTF8(s[:max], "\uFFFD") + "…"
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
			out = append(out, Subject(q))
		}
	}
	return out
}
