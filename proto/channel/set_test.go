package channel

import (
	"errors"
	"slices"
	"testing"
)

func TestValidateSet(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		max  int
		want []string
		kind SetErrorKind
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
			got, err := ValidateSet(tt.in, tt.max)
			if tt.kind != 0 {
				var e *SetError
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

func TestFilters(t *testing.T) {
	got := Filters([]string{"chat.room1", "chat.*", "news", "news", "sports.>", "sports.eu.*"})
	want := []string{"herald.events.chat.*", "herald.events.news", "herald.events.sports.>"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
