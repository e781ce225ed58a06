package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/api/internal/control"
	"github.com/herald-push/herald/services/api/internal/metrics"
	"github.com/herald-push/herald/services/api/internal/store"
	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/labstack/echo/v4"
)

// TestPanicIsProblem: a handler panic (a bug, never bad input) still answers
// a 500 problem+json without leaking the panic value or the stack.
func TestPanicIsProblem(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Nothing listens on port 1: the connection just keeps retrying.
	nc, err := natsconn.Connect(natsconn.Options{URL: "nats://127.0.0.1:1"}, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	st, err := store.New(nc, config.Default().Events, time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.New(auth.Default(), log)
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho(Deps{Config: config.Default(), Store: st, Control: control.New(nc, time.Second), Auth: verifier, Metrics: metrics.New(), Log: log})
	e.GET("/panic", func(echo.Context) error { panic("secret detail") })
	e.GET("/plain-error", func(echo.Context) error { return io.ErrUnexpectedEOF })

	for _, path := range []string{"/panic", "/plain-error"} {
		t.Run(path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			want := `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"internal error"}` + "\n"
			if rec.Code != 500 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("got %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		})
	}
}
