// Command stream is Herald's SSE stream service: it consumes every event from
// NATS JetStream once and serves it to browsers over Server-Sent Events.
//
//	stream [--config file.yaml] [--http.addr :8082] [--sse.heartbeat 15s] ...
//	stream healthcheck   # exit 0 when /healthz answers (for container images)
package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/herald-push/herald/services/kit/service"
	"github.com/herald-push/herald/services/stream/app"
	"github.com/herald-push/herald/services/stream/config"
)

var program = service.Program[config.Config]{
	Name: config.Service,
	Keys: config.Keys(),
	Load: config.Load,
	Basics: func(c config.Config) service.Basics {
		return service.Basics{HTTPAddr: c.HTTPAddr, LogLevel: c.LogLevel, LogFormat: c.LogFormat}
	},
	Serve: func(ctx context.Context, cfg config.Config, log *slog.Logger, ln net.Listener) error {
		a, err := app.New(cfg, log)
		if err != nil {
			ln.Close()
			return err
		}
		return a.Run(ctx, ln)
	},
}

func main() { service.Main(program) }

func run(ctx context.Context, args []string) error { return service.Run(ctx, program, args) }
