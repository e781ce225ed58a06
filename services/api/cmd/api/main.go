// Command api is Herald's REST API: it validates events, stores them in
// NATS JetStream and controls live SSE connections.
//
//	api [--config file.yaml] [--http.addr :8081] [--api.body_limit 64KiB] ...
//	api healthcheck   # exit 0 when /healthz answers (for container images)
package main

import (
	"context"

	"github.com/herald-push/herald/services/api/app"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/service"
)

var program = service.Program[config.Config, *app.App]{Name: config.Service, Keys: config.Keys(), Load: config.Load, New: app.New}

func main() { service.Main(program) }

func run(ctx context.Context, args []string) error { return service.Run(ctx, program, args) }
