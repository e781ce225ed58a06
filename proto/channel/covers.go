package channel

import "strings"

// Covers reports whether the grant pattern covers want (a name or a
// pattern): every channel name want matches, grant matches too. It is the
// rule behind every authorization decision — a token granting "chat.*" may
// subscribe to "chat.lobby" and to "chat.*", but not to "chat.>", ">" or
// "chat.a.b", each of which matches names "chat.*" does not. Both arguments
// must already be valid patterns (ValidatePattern).
func Covers(grant, want string) bool {
	for {
		gt, grest, gmore := strings.Cut(grant, ".")
		wt, wrest, wmore := strings.Cut(want, ".")
		switch {
		case gt == ">":
			// want has at least one token here, and '>' matches any run of
			// one or more: whatever want's tail matches is matched.
			return true
		case wt == ">":
			// want matches arbitrarily many tokens from here; only a '>'
			// in grant (handled above) matches them all.
			return false
		case gt == "*":
			// one token of anything: a literal or '*' in want is fine.
		case gt != wt:
			// a literal in grant covers only that literal (not '*').
			return false
		}
		if !gmore || !wmore {
			// both must end together: a longer or shorter name never
			// matches a grant without '>'.
			return gmore == wmore
		}
		grant, want = grest, wrest
	}
}

// CoveredBy reports whether one of grants covers want.
func CoveredBy(grants []string, want string) bool {
	for _, g := range grants {
		if Covers(g, want) {
			return true
		}
	}
	return false
}
