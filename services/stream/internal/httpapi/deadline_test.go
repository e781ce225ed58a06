package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// deadlineRecorder is a ResponseWriter that records the write deadlines set
// through http.ResponseController.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (r *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	r.deadlines = append(r.deadlines, t)
	return nil
}

func TestDeadlineWriterMovesTheDeadlineLazily(t *testing.T) {
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	d := &deadlineWriter{w: rec, dl: http.NewResponseController(rec), timeout: time.Hour}
	start := time.Now()
	for range 100 {
		if _, err := d.Write([]byte("data: x\n\n")); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.deadlines) != 1 {
		t.Fatalf("100 quick writes set %d deadlines, want 1", len(rec.deadlines))
	}
	if got := rec.deadlines[0].Sub(start); got < time.Hour || got > time.Hour+time.Minute {
		t.Fatalf("deadline %v after the first write, want the timeout", got)
	}
	// Less than half the timeout left: the next write moves it.
	d.deadline = time.Now().Add(29 * time.Minute)
	_, _ = d.Write([]byte("x"))
	if len(rec.deadlines) != 2 || rec.deadlines[1].Sub(time.Now()) < 59*time.Minute {
		t.Fatalf("deadlines %v: want a fresh one when under half is left", rec.deadlines)
	}
	// A shorter timeout (the shutdown path) applies to the very next write.
	d.setTimeout(time.Second)
	_, _ = d.Write([]byte("retry: 100\n\n"))
	if len(rec.deadlines) != 3 || rec.deadlines[2].Sub(time.Now()) > time.Second {
		t.Fatalf("deadlines %v: want the 1s bound at once", rec.deadlines)
	}
	if got, want := rec.Body.Len(), 100*len("data: x\n\n")+len("x")+len("retry: 100\n\n"); got != want {
		t.Fatalf("wrote %d bytes, want %d", got, want)
	}
}
