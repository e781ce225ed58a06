package launcher

import (
	"context"
	"errors"
	"testing"
)

// StartTB starts a stack for a test and stops it in t.Cleanup, showing the
// end of every log when the test failed. Without nginx it skips the test and
// says how to install it.
func StartTB(t testing.TB, opts Options) *Stack {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Start(context.Background(), opts)
	if errors.Is(err, ErrNoNginx) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("starting the stack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range s.LogFiles() {
				t.Logf("--- %s (end)\n%s", f, tail(f, 40))
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	return s
}
