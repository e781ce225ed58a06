package launcher_test

import (
	"bufio"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/launcher"
)

// scripts/dev passes the developer's HERALD_* variables on (tests do not),
// except the addresses the launcher wires itself.
func TestPassEnv(t *testing.T) {
	t.Setenv("HERALD_SSE_RETRY", "1234ms")
	t.Setenv("HERALD_HTTP_ADDR", "127.0.0.1:1") // must not reach the services
	t.Setenv("HERALD_NATS_URL", "nats://127.0.0.1:1")
	for _, tt := range []struct {
		pass bool
		want string
	}{{true, "retry: 1234"}, {false, "retry: 3000"}} {
		s := launcher.StartTB(t, launcher.Options{Replicas: 1, PassEnv: tt.pass, HTMLRoot: t.TempDir()})
		if got := firstLine(t, s.StreamURLs[0]+"/stream?channel=ticker"); got != tt.want {
			t.Errorf("PassEnv %v: first line %q, want %q", tt.pass, got, tt.want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func firstLine(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	if !sc.Scan() {
		t.Fatalf("no line: %v", sc.Err())
	}
	return sc.Text()
}
