package channel

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCovers(t *testing.T) {
	tests := []struct {
		grant, want string
		ok          bool
	}{
		// The examples of the contract.
		{"chat.*", "chat.lobby", true},
		{"chat.*", "chat.*", true},
		{"chat.*", "chat.>", false},
		{"chat.*", ">", false},
		{"chat.*", "chat.a.b", false},
		{"chat.*", "chat.*.x", false},
		{"chat.*", "chat", false},
		{"chat.*", "*.lobby", false},
		// Literals.
		{"news", "news", true},
		{"news", "news.x", false},
		{"news", "new", false},
		{"news", "*", false},
		{"news", ">", false},
		{"a.b", "a.b", true},
		{"a.b", "a.*", false},
		// '>' grants.
		{">", "anything", true},
		{">", "a.b.c", true},
		{">", "*", true},
		{">", ">", true},
		{">", "*.>", true},
		{"chat.>", "chat.lobby", true},
		{"chat.>", "chat.a.b.c", true},
		{"chat.>", "chat.*", true},
		{"chat.>", "chat.>", true},
		{"chat.>", "chat.*.>", true},
		{"chat.>", "chat", false},
		{"chat.>", ">", false},
		{"chat.>", "*.x", false},
		{"chat.*.>", "chat.>", false},
		{"chat.*.>", "chat.a.>", true},
		{"chat.*.>", "chat.a", false},
		// '*' grants.
		{"*", "x", true},
		{"*", "*", true},
		{"*", ">", false},
		{"*", "x.y", false},
		{"*.b", "a.b", true},
		{"*.b", "*.b", true},
		{"*.b", "*.c", false},
		{"*.*", "a.*", true},
		{"*.*", "*.>", false},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.*.c", true},
		{"a.*.c", "a.*.*", false},
		{"ticker", "ticker", true},
	}
	for _, tt := range tests {
		t.Run(tt.grant+" covers "+tt.want, func(t *testing.T) {
			for _, p := range []string{tt.grant, tt.want} {
				if err := ValidatePattern(p); err != nil {
					t.Fatalf("test pattern %q invalid: %v", p, err)
				}
			}
			if got := Covers(tt.grant, tt.want); got != tt.ok {
				t.Errorf("Covers(%q, %q) = %v, want %v", tt.grant, tt.want, got, tt.ok)
			}
			checkAgainstMatch(t, tt.grant, tt.want, rand.New(rand.NewPCG(1, 2)))
		})
	}
}

func TestCoveredBy(t *testing.T) {
	grants := []string{"chat.*", "ticker"}
	for want, ok := range map[string]bool{"chat.x": true, "ticker": true, "ticker.x": false, "admin": false} {
		if got := CoveredBy(grants, want); got != ok {
			t.Errorf("CoveredBy(%v, %q) = %v", grants, want, got)
		}
	}
	if CoveredBy(nil, "x") {
		t.Error("no grants cover something")
	}
}

// FuzzCovers proves Covers agrees with Match: when grant covers want, every
// name generated from want matches grant; when it does not, a witness name
// matching want but not grant is found.
func FuzzCovers(f *testing.F) {
	for _, s := range [][2]string{
		{"chat.*", "chat.lobby"}, {"chat.*", "chat.>"}, {">", "a.*.>"}, {"chat.>", "chat.*.x"},
		{"*.b.>", "a.*.c"}, {"a", "a"}, {"a.*", "*.*"}, {"a.>", "a.b.>"},
	} {
		f.Add(s[0], s[1], uint64(7))
	}
	f.Fuzz(func(t *testing.T, grant, want string, seed uint64) {
		if ValidatePattern(grant) != nil || ValidatePattern(want) != nil {
			return
		}
		checkAgainstMatch(t, grant, want, rand.New(rand.NewPCG(seed, 99)))
	})
}

// checkAgainstMatch: soundness (covered ⇒ random names of want all match
// grant) and completeness (not covered ⇒ one of the witnesses matches want
// but not grant).
func checkAgainstMatch(t *testing.T, grant, want string, rng *rand.Rand) {
	t.Helper()
	if Covers(grant, want) {
		for range 20 {
			name := nameFrom(want, rng)
			if !Match(want, name) {
				t.Fatalf("generator bug: %q does not match %q", name, want)
			}
			if !Match(grant, name) {
				t.Fatalf("Covers(%q, %q) but %q matches %q and not %q", grant, want, name, want, grant)
			}
		}
		return
	}
	for _, name := range witnesses(grant, want) {
		if !Match(want, name) {
			t.Fatalf("witness bug: %q does not match %q", name, want)
		}
		if !Match(grant, name) {
			return
		}
	}
	t.Fatalf("Covers(%q, %q) = false, yet every witness matches both", grant, want)
}

// nameFrom returns a name matching pattern: '*' becomes one random token,
// '>' one to three. Tokens are drawn from a small alphabet so they collide
// with grant literals often.
func nameFrom(pattern string, rng *rand.Rand) string {
	pool := []string{"a", "b", "x", "chat", "lobby", "1", "_", "-"}
	var out []string
	for tok := range strings.SplitSeq(pattern, ".") {
		switch tok {
		case "*":
			out = append(out, pool[rng.IntN(len(pool))])
		case ">":
			for range 1 + rng.IntN(3) {
				out = append(out, pool[rng.IntN(len(pool))])
			}
		default:
			out = append(out, tok)
		}
	}
	return strings.Join(out, ".")
}

// witnesses are names matching want built from a token that is in no valid
// grant ("~" is not a token byte): '>' as one such token, or as enough of
// them to be longer than grant.
func witnesses(grant, want string) []string {
	const fresh = "~"
	long := strings.Count(grant, ".") + 2
	var short, longer []string
	for tok := range strings.SplitSeq(want, ".") {
		switch tok {
		case "*":
			short, longer = append(short, fresh), append(longer, fresh)
		case ">":
			short = append(short, fresh)
			for range long {
				longer = append(longer, fresh)
			}
		default:
			short, longer = append(short, tok), append(longer, tok)
		}
	}
	return []string{strings.Join(short, "."), strings.Join(longer, ".")}
}
