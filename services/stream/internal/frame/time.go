package frame

import "time"

// Time is the publish time of the event the last Event call decoded (zero
// when it had none), for the delivery-lag histogram.
func (b *Builder) Time() time.Time {
	if b.ev.GetTime() == nil {
		return time.Time{}
	}
	return b.ev.GetTime().AsTime()
}
