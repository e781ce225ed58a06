// Package service runs a Herald binary the same way for every service: the
// `healthcheck` subcommand, configuration loaded once and logged with secrets
// masked, a warning for HERALD_ variables that name no key, the listener, and
// the app served until SIGINT or SIGTERM — with one exit point in Main.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/herald-push/herald/services/kit/config"
	"github.com/herald-push/herald/services/kit/health"
	"github.com/herald-push/herald/services/kit/logging"
)

// Basics are the settings every service has; a service's Config embeds
// them, lists BasicKeys among its keys and reads them with ReadBasics.
type Basics struct {
	HTTPAddr   string
	UnixSocket string // also serve on this Unix socket ("" = no)
	LogLevel   string
	LogFormat  string
}

func (b Basics) basics() Basics { return b }

// BasicKeys declares http.addr (default addr), http.unix_socket, log.level
// and log.format.
func BasicKeys(addr string) []config.Key {
	return []config.Key{
		{Name: "http.addr", Default: addr, Usage: "HTTP listen address (host:port)"},
		{Name: "http.unix_socket", Default: "", Usage: "also serve HTTP on this Unix socket path, for a proxy on the same host (mode 0666: the directory decides who may connect)"},
		{Name: "log.level", Default: "info", Usage: "log level: debug, info, warn or error"},
		{Name: "log.format", Default: "json", Usage: "log format: json or text"},
	}
}

// ReadBasics reads and checks the keys of BasicKeys.
func ReadBasics(r *config.Reader) Basics {
	b := Basics{
		HTTPAddr:   r.String("http.addr"),
		UnixSocket: r.Optional("http.unix_socket"),
		LogLevel:   r.OneOf("log.level", "debug", "info", "warn", "error"),
		LogFormat:  r.OneOf("log.format", "json", "text"),
	}
	// sockaddr_un holds 108 bytes with the terminating NUL.
	r.Check(len(b.UnixSocket) < 108, "http.unix_socket", "%q is longer than a Unix socket path may be (107 bytes)", b.UnixSocket)
	if b.HTTPAddr != "" {
		_, _, err := net.SplitHostPort(b.HTTPAddr)
		r.Check(err == nil, "http.addr", "%q is not host:port (e.g. :8080)", b.HTTPAddr)
	}
	return b
}

// Config is a service's typed configuration: a struct embedding Basics.
type Config interface {
	basics() Basics
}

// App is a built service: it serves on ln until ctx is done, then shuts down
// gracefully (the SIGTERM path) and returns.
type App interface {
	Run(ctx context.Context, ln net.Listener) error
}

// Program describes one service binary.
type Program[C Config, A App] struct {
	Name string
	Keys []config.Key
	Load func(args []string) (C, *viper.Viper, error)
	New  func(cfg C, log *slog.Logger) (A, error)
}

// Main runs p with the process's arguments and exits non-zero on error.
func Main[C Config, A App](p Program[C, A]) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, p, os.Args[1:])
	stop()
	switch {
	case errors.Is(err, pflag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
		os.Exit(1)
	}
}

// Run is Main without the process: `healthcheck [flags]` probes the
// configured http.addr; anything else is flags for serving.
func Run[C Config, A App](ctx context.Context, p Program[C, A], args []string) error {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg, v, err := p.Load(args)
	if err != nil {
		return fmt.Errorf("loading config: %w", err)
	}
	basics := cfg.basics()
	if healthcheck {
		return health.Probe(ctx, basics.HTTPAddr)
	}
	log, err := logging.New(os.Stdout, basics.LogLevel, basics.LogFormat, p.Name)
	if err != nil {
		return err
	}
	log.Info("starting", "config", config.Masked(v, p.Keys))
	if unknown := config.UnknownEnv(p.Keys, os.Environ()); len(unknown) > 0 {
		log.Warn("ignoring HERALD_ environment variables that name no setting", "names", unknown)
	}
	ln, err := listen(basics)
	if err != nil {
		return err
	}
	a, err := p.New(cfg, log)
	if err != nil {
		ln.Close()
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	if err := a.Run(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("stopped")
	return nil
}
