package heraldv1_test

import (
	"testing"

	"github.com/herald-push/herald/proto/heraldv1"
)

// TestEventHasNoContentType: Event.content_type was written and never read;
// its number and name stay reserved so no one reuses them for something else.
func TestEventHasNoContentType(t *testing.T) {
	d := (&heraldv1.Event{}).ProtoReflect().Descriptor()
	if d.Fields().ByNumber(4) != nil || d.Fields().ByName("content_type") != nil {
		t.Fatal("Event still declares content_type (4)")
	}
	if !d.ReservedNames().Has("content_type") || !d.ReservedRanges().Has(4) {
		t.Fatal("Event does not reserve content_type = 4")
	}
}
