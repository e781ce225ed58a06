// Command stream is Herald's SSE stream service: it consumes every event from
// NATS JetStream once and serves it to browsers over Server-Sent Events.
//
//	stream [--config file.yaml] [--http.addr :8082] [--sse.heartbeat 15s] ...
//	stream healthcheck   # exit 0 when /healthz answers (for container images)
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	kitconfig "github.com/herald-push/herald/services/kit/config"
	"github.com/herald-push/herald/services/kit/health"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/herald-push/herald/services/stream/app"
	"github.com/herald-push/herald/services/stream/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
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
		return err
	}
	if healthcheck {
		return health.Probe(ctx, cfg.HTTPAddr)
	}
	log, err := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat, config.Service)
	if err != nil {
		return err
	}
	log.Info("starting", "config", kitconfig.Masked(v, config.Keys()))
	if unknown := kitconfig.UnknownEnv(config.Keys(), os.Environ()); len(unknown) > 0 {
		log.Warn("ignoring unknown HERALD_ environment variables", "names", unknown)
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.HTTPAddr, err)
	}
	a, err := app.New(cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	if err := a.Run(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
