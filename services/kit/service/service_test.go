package service

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/herald-push/herald/services/kit/config"
	"github.com/herald-push/herald/services/kit/health"
)

type testConfig struct{ Basics }

// testApp serves with serve.
type testApp struct {
	serve func(ctx context.Context, ln net.Listener) error
}

func (a testApp) Run(ctx context.Context, ln net.Listener) error { return a.serve(ctx, ln) }

func testProgram(serve func(ctx context.Context, ln net.Listener) error) Program[testConfig, testApp] {
	keys := []config.Key{
		{Name: "http.addr", Default: "127.0.0.1:0"},
		{Name: "log.level", Default: "error"},
		{Name: "log.format", Default: "json"},
	}
	return Program[testConfig, testApp]{
		Name: "test",
		Keys: keys,
		Load: func(args []string) (testConfig, *viper.Viper, error) {
			v, err := config.Load("test", keys, args)
			if err != nil {
				return testConfig{}, nil, err
			}
			return testConfig{Basics{HTTPAddr: v.GetString("http.addr"), LogLevel: "error", LogFormat: "json"}}, v, nil
		},
		New: func(testConfig, *slog.Logger) (testApp, error) { return testApp{serve: serve}, nil },
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	addrc := make(chan string, 1)
	p := testProgram(func(ctx context.Context, ln net.Listener) error {
		addrc <- ln.Addr().String()
		srv := &http.Server{Handler: http.HandlerFunc(health.Live)}
		go srv.Serve(ln)
		<-ctx.Done()
		return srv.Close()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, p, nil) }()
	addr := <-addrc
	if err := Run(context.Background(), p, []string{"healthcheck", "--http.addr", addr}); err != nil {
		t.Fatalf("healthcheck of a running server: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if err := Run(context.Background(), p, []string{"healthcheck", "--http.addr", addr}); err == nil {
		t.Fatal("healthcheck of a stopped server passed")
	}
}

func TestRunErrors(t *testing.T) {
	failing := testProgram(func(context.Context, net.Listener) error { return errors.New("boom") })
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad flag", []string{"--nope"}, "loading config: unknown flag: --nope"},
		{"bad listen address", []string{"--http.addr", "256.0.0.1:1"}, "listening on 256.0.0.1:1"},
		{"serve fails", nil, "serving: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(context.Background(), failing, tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
