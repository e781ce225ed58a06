package service

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenServesTCPAndUnix: with http.unix_socket set, one server answers
// on both; a stale socket left by a crash is replaced, a live one or a file
// that is not a socket is refused, and closing removes the socket.
func TestListenServesTCPAndUnix(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "svc.sock")
	// A stale socket: bound, then its listener leaked without unlinking.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	ln, err := listen(Basics{HTTPAddr: "127.0.0.1:0", UnixSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()

	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	get := func(c *http.Client, url string) string {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	unixClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	if got := get(http.DefaultClient, "http://"+ln.Addr().String()+"/"); got != "ok" {
		t.Errorf("over TCP: %q", got)
	}
	if got := get(unixClient, "http://unix/"); got != "ok" {
		t.Errorf("over the Unix socket: %q", got)
	}

	if _, err := listen(Basics{HTTPAddr: "127.0.0.1:0", UnixSocket: sock}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("a second service on a live socket: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := listen(Basics{HTTPAddr: "127.0.0.1:0", UnixSocket: file}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("a regular file: %v", err)
	}

	srv.Close()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after close: %v", err)
	}
}
