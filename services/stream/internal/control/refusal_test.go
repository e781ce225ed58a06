package control

import (
	"errors"
	"fmt"
	"testing"

	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/stream/internal/chanset"
)

func TestRefusal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want heraldv1.ControlReply_Status
	}{
		{"empty", &chanset.Error{Kind: chanset.Empty}, heraldv1.ControlReply_STATUS_EMPTY},
		{"too many", &chanset.Error{Kind: chanset.TooMany, Detail: "33 > 32"}, heraldv1.ControlReply_STATUS_TOO_MANY_CHANNELS},
		{"invalid", &chanset.Error{Kind: chanset.Invalid, Detail: "bad"}, heraldv1.ControlReply_STATUS_INVALID_CHANNEL},
		{"wrapped", fmt.Errorf("x: %w", &chanset.Error{Kind: chanset.TooMany}), heraldv1.ControlReply_STATUS_TOO_MANY_CHANNELS},
		// Another kind of error must not dereference a nil *chanset.Error.
		{"not a chanset error", errors.New("something else"), heraldv1.ControlReply_STATUS_BAD_REQUEST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := refusal(tt.err); got != tt.want {
				t.Fatalf("refusal(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
