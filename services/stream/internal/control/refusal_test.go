package control

import (
	"errors"
	"fmt"
	"github.com/herald-push/herald/proto/channel"
	"testing"

	"github.com/herald-push/herald/proto/heraldv1"
)

func TestRefusal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want heraldv1.ControlReply_Status
	}{
		{"empty", &channel.SetError{Kind: channel.Empty}, heraldv1.ControlReply_STATUS_EMPTY},
		{"too many", &channel.SetError{Kind: channel.TooMany, Detail: "33 > 32"}, heraldv1.ControlReply_STATUS_TOO_MANY_CHANNELS},
		{"invalid", &channel.SetError{Kind: channel.Invalid, Detail: "bad"}, heraldv1.ControlReply_STATUS_INVALID_CHANNEL},
		{"wrapped", fmt.Errorf("x: %w", &channel.SetError{Kind: channel.TooMany}), heraldv1.ControlReply_STATUS_TOO_MANY_CHANNELS},
		// Another kind of error must not dereference a nil *channel.SetError.
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
