package chanset

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/herald-push/herald/proto/channel"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		max  int
		want []string
		kind Kind
	}{
		{"one", []string{"news"}, 2, []string{"news"}, 0},
		{"sorted and deduplicated", []string{"b", "a", "b", "chat.*"}, 3, []string{"a", "b", "chat.*"}, 0},
		{"duplicates do not count against the limit", []string{"a", "a", "a"}, 1, []string{"a"}, 0},
		{"empty", nil, 2, nil, Empty},
		{"bad name", []string{"news", "a..b"}, 2, nil, Invalid},
		{"bad wildcard", []string{"a.>.b"}, 2, nil, Invalid},
		{"too many", []string{"a", "b", "c"}, 2, nil, TooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(tt.in, tt.max)
			if tt.kind != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Kind != tt.kind {
					t.Fatalf("err = %v, want kind %d", err, tt.kind)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		{"a", "a", true},
		{"a", "b", false},
		{"*", "a", true},
		{"a", "*", false},
		{">", "a.b.c", true},
		{">", ">", true},
		{"a.>", ">", false},
		{"a.>", "a.*", true},
		{"a.*", "a.>", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.*.c", "a.b.c", true},
		{"a.b", "a.b.c", false},
		{"a.b.c", "a.b", false},
		{"*.*", "a.>", false},
	}
	for _, tt := range tests {
		t.Run(tt.p+" covers "+tt.q, func(t *testing.T) {
			if got := Covers(tt.p, tt.q); got != tt.want {
				t.Fatalf("Covers(%q, %q) = %v", tt.p, tt.q, got)
			}
		})
	}
}

// TestCoversAgreesWithMatch checks Covers against channel.Match (NATS
// semantics) on every concrete name over a small alphabet.
func TestCoversAgreesWithMatch(t *testing.T) {
	pats := []string{"a", "b", "*", ">", "a.b", "a.*", "*.b", "a.>", "*.>", "a.b.c", "a.*.c", "*.*", "*.*.*", "a.b.>"}
	var names []string
	for _, x := range []string{"a", "b", "c"} {
		names = append(names, x)
		for _, y := range []string{"a", "b", "c"} {
			names = append(names, x+"."+y)
			for _, z := range []string{"a", "b", "c"} {
				names = append(names, x+"."+y+"."+z)
			}
		}
	}
	for _, p := range pats {
		for _, q := range pats {
			want := true
			for _, n := range names {
				if channel.Match(q, n) && !channel.Match(p, n) {
					want = false
					break
				}
			}
			// names are at most 3 tokens: a '>' covering claim is checked on them too
			if got := Covers(p, q); got != want && !(strings.HasSuffix(q, ">") && !got) {
				t.Errorf("Covers(%q, %q) = %v, names say %v", p, q, got, want)
			}
		}
	}
}

func TestFilters(t *testing.T) {
	got := Filters([]string{"chat.room1", "chat.*", "news", "news", "sports.>", "sports.eu.*"})
	want := []string{"herald.events.chat.*", "herald.events.news", "herald.events.sports.>"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
