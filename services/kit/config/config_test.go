package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testKeys = []Key{
	{Name: "http.addr", Default: ":8081", Usage: "listen address"},
	{Name: "nats.url", Default: "nats://127.0.0.1:4222", Usage: "NATS URL"},
	{Name: "sse.heartbeat", Default: 15 * time.Second, Usage: "heartbeat"},
	{Name: "sse.max_channels", Default: 32, Usage: "max channels"},
	{Name: "api.body_limit", Default: "64KiB", Usage: "body limit"},
	{Name: "auth.token", Default: "", Usage: "token", Secret: true},
}

func read(t *testing.T, args []string) (*Reader, error) {
	t.Helper()
	v, err := Load("test", testKeys, args)
	if err != nil {
		return nil, err
	}
	return NewReader(v), nil
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("sse:\n  heartbeat: 5s\n  max_channels: 8\nhttp:\n  addr: \":9000\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERALD_SSE_MAX_CHANNELS", "9")
	t.Setenv("HERALD_HTTP_ADDR", ":9001")
	r, err := read(t, []string{"--config", file, "--http.addr", ":9002"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Duration("sse.heartbeat", time.Second, time.Hour); got != 5*time.Second {
		t.Errorf("file should beat default: heartbeat = %v", got)
	}
	if got := r.Int("sse.max_channels", 1, 100); got != 9 {
		t.Errorf("env should beat file: max_channels = %d", got)
	}
	if got := r.String("http.addr"); got != ":9002" {
		t.Errorf("flag should beat env: addr = %q", got)
	}
	if got := r.String("nats.url"); got != "nats://127.0.0.1:4222" {
		t.Errorf("default: nats.url = %q", got)
	}
	if got := r.Bytes("api.body_limit", 1, 1<<30); got != 64<<10 {
		t.Errorf("body_limit = %d", got)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	t.Setenv("HERALD_SSE_HEARTBEAT", "soon")
	t.Setenv("HERALD_SSE_MAX_CHANNELS", "1000")
	t.Setenv("HERALD_API_BODY_LIMIT", "lots")
	r, err := read(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Duration("sse.heartbeat", time.Second, time.Hour)
	r.Int("sse.max_channels", 1, 256)
	r.Bytes("api.body_limit", 1, 1<<30)
	err = r.Err()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`config sse.heartbeat (HERALD_SSE_HEARTBEAT): "soon" is not a duration`,
		`config sse.max_channels (HERALD_SSE_MAX_CHANNELS): 1000 is outside 1..256`,
		`config api.body_limit (HERALD_API_BODY_LIMIT): "lots" is not a size`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("sse:\n  hartbeat: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "unknown flag"},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, "reading config file"},
		{"unknown file key", []string{"--config", bad}, `unknown key "sse.hartbeat"`},
		{"stray argument", []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("test", testKeys, tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEnvNameAndUnknown(t *testing.T) {
	if got := EnvName("events.max_msgs_per_channel"); got != "HERALD_EVENTS_MAX_MSGS_PER_CHANNEL" {
		t.Fatalf("EnvName = %q", got)
	}
	got := UnknownEnv(testKeys, []string{"HERALD_NATS_URL=x", "HERALD_NATS_URI=y", "PATH=/bin"})
	if len(got) != 1 || got[0] != "HERALD_NATS_URI" {
		t.Fatalf("UnknownEnv = %v", got)
	}
}

func TestMasked(t *testing.T) {
	t.Setenv("HERALD_NATS_URL", "nats://user:pw@host:4222")
	t.Setenv("HERALD_AUTH_TOKEN", "s3cret")
	v, err := Load("test", testKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := Masked(v, testKeys)
	if m["nats.url"] != "nats://user:*****@host:4222" || m["auth.token"] != "*****" || m["sse.heartbeat"] != "15s" {
		t.Fatalf("masked = %v", m)
	}
}

func TestParseBytes(t *testing.T) {
	tests := map[string]int64{"65536": 65536, "64KiB": 65536, "64kb": 65536, "1MiB": 1 << 20, "2 GB": 2 << 30, "10b": 10}
	for in, want := range tests {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1.5MiB", "MiB", "12QB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
}
