// Command api is Herald's REST API: it validates events, stores them in
// NATS JetStream and controls live SSE connections.
//
//	api [--config file.yaml] [--http.addr :8081] [--api.body_limit 64KiB] ...
//	api healthcheck   # exit 0 when /healthz answers (for container images)
package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/herald-push/herald/services/api/app"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/service"
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
