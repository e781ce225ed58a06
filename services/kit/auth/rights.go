package auth

import (
	"time"

	"github.com/herald-push/herald/proto/channel"
)

// Rights are what one request may do: the channels it may publish to and
// subscribe to (patterns, checked with channel.Covers), who it is, and until
// when. The zero value may do nothing.
type Rights struct {
	// Principal is the token's sub; "" exactly when Anonymous.
	Principal string
	// Anonymous: no token was sent; the rights are auth.anonymous.*.
	Anonymous bool
	Publish   []string
	Subscribe []string
	// Expires is the token's exp; zero when it has none (or is anonymous).
	Expires time.Time
}

// CanPublish reports whether the concrete channel name is covered by a
// publish grant.
func (r Rights) CanPublish(name string) bool { return channel.CoveredBy(r.Publish, name) }

// CanSubscribe reports whether the channel or pattern is covered by a
// subscribe grant (also what reading its history needs).
func (r Rights) CanSubscribe(pattern string) bool { return channel.CoveredBy(r.Subscribe, pattern) }

// Uncovered returns the first of patterns a subscribe grant does not cover.
func (r Rights) Uncovered(patterns []string) (string, bool) {
	for _, p := range patterns {
		if !r.CanSubscribe(p) {
			return p, true
		}
	}
	return "", false
}
