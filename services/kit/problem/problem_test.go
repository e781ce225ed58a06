package problem

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	p := New(http.StatusServiceUnavailable, "nats is down")
	p.Header = http.Header{"Retry-After": {"1"}}
	rec := httptest.NewRecorder()
	Write(rec, p)
	want := `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"nats is down"}` + "\n"
	if rec.Code != 503 || rec.Body.String() != want {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Content-Type") != ContentType || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("headers %v", rec.Header())
	}
	if p.Error() != "Service Unavailable: nats is down" {
		t.Fatalf("Error() = %q", p.Error())
	}
}
