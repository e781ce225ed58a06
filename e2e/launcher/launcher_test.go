package launcher_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/launcher"
)

func TestMain(m *testing.M) {
	code := m.Run()
	launcher.RemoveBuilds()
	os.Exit(code)
}

func TestRender(t *testing.T) {
	vars := map[string]string{"HERALD_A": "x y;", "HERALD_B": "2"}
	tests := []struct {
		name, in, want, err string
	}{
		{"braces and bare form", "a ${HERALD_A} b $HERALD_B;", "a x y; b 2;", ""},
		{"nginx variables untouched", `map "$http_origin" $v { "~^(a)$" $1; } ${HERALD_B}`, `map "$http_origin" $v { "~^(a)$" $1; } 2`, ""},
		{"undefined lower-case and other names untouched", "$herald_x ${HOME} $PATH", "$herald_x ${HOME} $PATH", ""},
		{"missing variable is an error", "${HERALD_A} ${HERALD_C}", "", "HERALD_C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := launcher.Render(tt.in, vars)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Render error = %v, want one naming %s", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Render = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestStack starts the whole topology and goes through the front door once:
// the page, a publish, and the event on a stream.
func TestStack(t *testing.T) {
	html := t.TempDir()
	if err := os.WriteFile(html+"/index.html", []byte("<!doctype html><title>t</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := launcher.StartTB(t, launcher.Options{HTMLRoot: html, Heartbeat: 200 * time.Millisecond})

	resp, err := http.Get(s.BaseURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<title>t</title>") {
		t.Fatalf("GET / = %d %q", resp.StatusCode, body)
	}

	waitLine := openStream(t, s.BaseURL+"/stream?channel=chat.smoke")
	waitLine("event: herald.connected")
	// The stream is open through nginx on exactly one replica.
	total := 0
	for i := range s.StreamURLs {
		n, err := s.StreamConnections(i)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 1 {
		t.Errorf("established connections to the replicas = %d, want 1", total)
	}
	waitLine(": hb")

	publish(t, s.BaseURL+"/api/v1/channels/chat.smoke/events", `{"data":{"n":1}}`)
	if got := waitLine("data: "); !strings.Contains(got, `"data":{"n":1}`) {
		t.Fatalf("event = %q", got)
	}
}

// openStream opens url through nginx (an event stream, or the test fails)
// and returns a function that reads up to the next line starting with
// prefix and returns it; the stream is closed when the test ends.
func openStream(t *testing.T, url string) func(prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Body.Close() })
	if ct := stream.Header.Get("Content-Type"); stream.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("GET /stream = %d %s", stream.StatusCode, ct)
	}
	lines := bufio.NewScanner(stream.Body)
	return func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				return lines.Text()
			}
		}
		t.Fatalf("stream ended before a line starting %q: %v", prefix, lines.Err())
		return ""
	}
}

// publish POSTs body to url and fails the test unless it is stored (201).
func publish(t *testing.T, url, body string) {
	t.Helper()
	post, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d", post.StatusCode)
	}
}
