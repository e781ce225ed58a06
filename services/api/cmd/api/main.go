// Command api is Herald's REST API: it validates events, stores them in
// NATS JetStream and controls live SSE connections. `api healthcheck` probes
// a running instance (for container health checks without curl).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/herald-push/herald/services/api/app"
	"github.com/herald-push/herald/services/api/config"
	kitconfig "github.com/herald-push/herald/services/kit/config"
	"github.com/herald-push/herald/services/kit/health"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/spf13/pflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "api:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg, v, err := config.Load(args)
	if err != nil {
		return fmt.Errorf("loading config: %w", err)
	}
	if healthcheck {
		return health.Probe(ctx, cfg.HTTPAddr)
	}
	log, err := logging.New(os.Stdout, cfg.LogLevel, cfg.LogFormat, config.Service)
	if err != nil {
		return err
	}
	log.Info("starting", "config", kitconfig.Masked(v, config.Keys()))
	for _, name := range kitconfig.UnknownEnv(config.Keys(), os.Environ()) {
		log.Warn("ignoring unknown environment variable", "name", name)
	}

	a, err := app.New(cfg, log)
	if err != nil {
		return fmt.Errorf("starting api: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		a.Close()
		return fmt.Errorf("listening on %s: %w", cfg.HTTPAddr, err)
	}
	if err := a.Run(ctx, ln); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}
