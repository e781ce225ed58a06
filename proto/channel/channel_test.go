package channel

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", MaxBytes+1)
	tests := []struct {
		name    string
		in      string
		plain   error
		pattern error
	}{
		{"simple", "news", nil, nil},
		{"dotted", "chat.room-1.en_GB", nil, nil},
		{"max bytes", strings.Repeat("a", MaxBytes), nil, nil},
		{"max tokens", strings.Repeat("a.", MaxTokens-1) + "a", nil, nil},
		{"empty", "", ErrEmpty, ErrEmpty},
		{"too long", long, ErrTooLong, ErrTooLong},
		{"too many tokens", strings.Repeat("a.", MaxTokens) + "a", ErrTokens, ErrTokens},
		{"empty token", "a..b", ErrBadToken, ErrBadToken},
		{"leading dot", ".a", ErrBadToken, ErrBadToken},
		{"trailing dot", "a.", ErrBadToken, ErrBadToken},
		{"space", "a b", ErrBadToken, ErrBadToken},
		{"slash", "a/b", ErrBadToken, ErrBadToken},
		{"unicode", "café", ErrBadToken, ErrBadToken},
		{"newline", "a\nb", ErrBadToken, ErrBadToken},
		{"star", "chat.*", ErrWildcard, nil},
		{"star middle", "a.*.c", ErrWildcard, nil},
		{"gt", "sports.>", ErrWildcard, nil},
		{"gt alone", ">", ErrWildcard, nil},
		{"gt not last", "a.>.b", ErrWildcard, ErrFullWild},
		{"star inside token", "a*", ErrWildcard, ErrBadToken},
		{"gt inside token", "a>", ErrWildcard, ErrBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.in); !errors.Is(err, tt.plain) {
				t.Errorf("Validate(%q) = %v, want %v", tt.in, err, tt.plain)
			}
			if err := ValidatePattern(tt.in); !errors.Is(err, tt.pattern) {
				t.Errorf("ValidatePattern(%q) = %v, want %v", tt.in, err, tt.pattern)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"news", "news", true},
		{"news", "news.x", false},
		{"news.x", "news", false},
		{"chat.*", "chat.a", true},
		{"chat.*", "chat", false},
		{"chat.*", "chat.a.b", false},
		{"*.a", "x.a", true},
		{"*.a", "x.b", false},
		{"*", "x", true},
		{"*", "x.y", false},
		{"sports.>", "sports.f1", true},
		{"sports.>", "sports.f1.race", true},
		{"sports.>", "sports", false},
		{">", "a", true},
		{">", "a.b.c", true},
		{"a.*.>", "a.b", false},
		{"a.*.>", "a.b.c", true},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestSubject(t *testing.T) {
	if got := Subject("chat.*"); got != "herald.events.chat.*" {
		t.Fatalf("Subject = %q", got)
	}
	if name, ok := FromSubject("herald.events.chat.a"); !ok || name != "chat.a" {
		t.Fatalf("FromSubject = %q, %v", name, ok)
	}
	for _, bad := range []string{"herald.events.", "other.chat", ""} {
		if _, ok := FromSubject(bad); ok {
			t.Errorf("FromSubject(%q) ok", bad)
		}
	}
	if got := ControlSubject("abc"); got != "herald.ctl.conn.abc" {
		t.Fatalf("ControlSubject = %q", got)
	}
}

func TestValidateType(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"message", true},
		{"chat.message", true},
		{"ünïcode", true},
		{"", false},
		{"herald.gap", false},
		{"herald.", false},
		{"a b", false},
		{"a\nb", false},
		{"a\rb", false},
		{"a\x00b", false},
		{"a\u2028b", false},
		{"\xff", false},
		{strings.Repeat("t", MaxTypeBytes), true},
		{strings.Repeat("t", MaxTypeBytes+1), false},
	}
	for _, tt := range tests {
		if err := ValidateType(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidateType(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

// FuzzChannel checks the rules against their definition: a valid name is
// made only of allowed tokens, maps to a subject and back, and matches itself.
func FuzzChannel(f *testing.F) {
	for _, s := range []string{"news", "chat.*", "a.>", "a..b", ">", "a.b.c", "x*y", ""} {
		f.Add(s, "a.b")
	}
	f.Fuzz(func(t *testing.T, p, name string) {
		perr := ValidatePattern(p)
		nerr := Validate(p)
		if nerr == nil {
			if perr != nil {
				t.Fatalf("%q valid as name but not as pattern: %v", p, perr)
			}
			if IsPattern(p) {
				t.Fatalf("%q valid name reported as pattern", p)
			}
			back, ok := FromSubject(Subject(p))
			if !ok || back != p {
				t.Fatalf("subject round trip of %q = %q", p, back)
			}
			if !Match(p, p) {
				t.Fatalf("%q does not match itself", p)
			}
		}
		if perr == nil {
			if len(p) > MaxBytes || strings.Count(p, ".") >= MaxTokens {
				t.Fatalf("%q accepted beyond limits", p)
			}
			for _, c := range []byte(p) {
				if !tokenByte(c) && c != '.' && c != '*' && c != '>' {
					t.Fatalf("%q accepted with byte %q", p, c)
				}
			}
			if Validate(name) == nil {
				// A pattern without wildcards matches only itself.
				if !IsPattern(p) && Match(p, name) != (p == name) {
					t.Fatalf("Match(%q, %q) wrong for literal pattern", p, name)
				}
				_ = Match(p, name) // must not panic
			}
		}
	})
}
