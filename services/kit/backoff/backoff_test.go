package backoff

import (
	"slices"
	"testing"
	"time"
)

func TestCapped(t *testing.T) {
	ms := time.Millisecond
	b := Capped{Min: 100 * ms, Max: time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	if want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}; !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	b.Reset()
	if d := b.Next(); d != 100*ms {
		t.Fatalf("after Reset: %v, want Min", d)
	}
	if d := (&Capped{}).Next(); d != 0 {
		t.Fatalf("zero value: %v, want 0", d)
	}
}
