// Package channel holds Herald's channel-name rules and their mapping to NATS
// subjects. Both services validate with it, so a name accepted by the api is
// exactly a name the stream service can subscribe to.
package channel

import (
	"errors"
	"fmt"
	"strings"
)

// NATS names shared by the services.
const (
	// StreamName is the JetStream stream holding every event.
	StreamName = "HERALD_EVENTS"
	// SubjectPrefix prefixes every channel's subject.
	SubjectPrefix = "herald.events."
	// StreamSubjects is the subject filter of StreamName.
	StreamSubjects = SubjectPrefix + ">"
	// ControlPrefix prefixes the request/reply subject of a live connection.
	ControlPrefix = "herald.ctl.conn."
)

// Limits of a channel name.
const (
	MaxBytes  = 255
	MaxTokens = 16
)

// Errors returned by Validate and ValidatePattern; callers map them to 400.
var (
	ErrEmpty     = errors.New("channel name is empty")
	ErrTooLong   = fmt.Errorf("channel name is longer than %d bytes", MaxBytes)
	ErrTokens    = fmt.Errorf("channel name has more than %d tokens", MaxTokens)
	ErrWildcard  = errors.New("channel name contains a wildcard; publish to a concrete channel")
	ErrBadToken  = errors.New("channel name tokens must be 1 or more of [A-Za-z0-9_-] separated by single dots")
	ErrFullWild  = errors.New("'>' may only be the last token")
	ErrTypeEmpty = errors.New("event type is empty")
)

// Validate reports whether name is a concrete channel name (no wildcards).
func Validate(name string) error { return check(name, false) }

// ValidatePattern reports whether p is a channel name or a subscription pattern:
// '*' matches exactly one token, '>' as the last token matches one or more.
func ValidatePattern(p string) error { return check(p, true) }

// IsPattern reports whether p contains a wildcard token.
func IsPattern(p string) bool {
	for tok := range strings.SplitSeq(p, ".") {
		if tok == "*" || tok == ">" {
			return true
		}
	}
	return false
}

func check(name string, wildcards bool) error {
	if name == "" {
		return ErrEmpty
	}
	if len(name) > MaxBytes {
		return ErrTooLong
	}
	n := 0
	for tok := range strings.SplitSeq(name, ".") {
		n++
		if n > MaxTokens {
			return ErrTokens
		}
		switch tok {
		case "*":
			if !wildcards {
				return ErrWildcard
			}
			continue
		case ">":
			if !wildcards {
				return ErrWildcard
			}
			if n != strings.Count(name, ".")+1 {
				return ErrFullWild
			}
			continue
		}
		if tok == "" {
			return ErrBadToken
		}
		for i := 0; i < len(tok); i++ {
			if !tokenByte(tok[i]) {
				if tok[i] == '*' || tok[i] == '>' {
					if !wildcards {
						return ErrWildcard
					}
				}
				return ErrBadToken
			}
		}
	}
	return nil
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// Subject maps a channel name or pattern to its NATS subject.
func Subject(name string) string { return SubjectPrefix + name }

// FromSubject maps a NATS subject back to its channel name.
func FromSubject(subject string) (string, bool) {
	name, ok := strings.CutPrefix(subject, SubjectPrefix)
	return name, ok && name != ""
}

// ControlSubject is the request/reply subject of the connection with this id.
func ControlSubject(connectionID string) string { return ControlPrefix + connectionID }

// Match reports whether the concrete channel matches pattern, with NATS
// semantics: '*' is exactly one token, a final '>' is one or more tokens.
// Both arguments must already be valid.
func Match(pattern, name string) bool {
	for {
		pt, prest, pmore := strings.Cut(pattern, ".")
		nt, nrest, nmore := strings.Cut(name, ".")
		switch {
		case pt == ">":
			return true
		case pt != "*" && pt != nt:
			return false
		case !pmore || !nmore:
			return pmore == nmore
		}
		pattern, name = prest, nrest
	}
}

// System event types start with this prefix; publishers may not use it.
const SystemTypePrefix = "herald."

// MaxTypeBytes bounds an event type.
const MaxTypeBytes = 128

// ValidateType reports whether t may be used as a publisher's event type: 1 to
// MaxTypeBytes bytes of printable, non-space UTF-8, not starting with "herald.".
// Callers map the error to 422.
func ValidateType(t string) error {
	if t == "" {
		return ErrTypeEmpty
	}
	if len(t) > MaxTypeBytes {
		return fmt.Errorf("event type is longer than %d bytes", MaxTypeBytes)
	}
	if strings.HasPrefix(t, SystemTypePrefix) {
		return fmt.Errorf("event type may not start with %q: that prefix is reserved for system events", SystemTypePrefix)
	}
	for _, r := range t {
		if r < 0x21 || r == 0x7f || r == '\uFFFD' || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return errors.New("event type must be a single line of visible characters (no spaces, control characters or invalid UTF-8)")
		}
	}
	return nil
}
