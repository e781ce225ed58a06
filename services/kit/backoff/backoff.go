// Package backoff is the capped exponential backoff both services retry
// NATS set-up with: the first wait is Min, each next one twice the last, never
// more than Max, back to Min after Reset (a success).
package backoff

import "time"

// Capped is a capped doubling backoff. The zero value waits 0; set Min and
// Max (Max >= Min). Not safe for concurrent use.
type Capped struct {
	Min, Max time.Duration
	next     time.Duration // 0: Min
}

// Next returns the wait before the next attempt and doubles the one after,
// up to Max.
func (b *Capped) Next() time.Duration {
	if b.next == 0 {
		b.next = b.Min
	}
	d := b.next
	b.next = min(d*2, b.Max)
	return d
}

// Reset makes the next wait Min again, after an attempt succeeded.
func (b *Capped) Reset() { b.next = 0 }
