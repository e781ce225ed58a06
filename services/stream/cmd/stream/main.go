// Command stream is Herald's SSE stream service: it consumes every event from
// NATS JetStream once and serves it to browsers over Server-Sent Events.
//
//	stream [--config file.yaml] [--http.addr :8082] [--sse.heartbeat 15s] ...
//	stream healthcheck   # exit 0 when /healthz answers (for container images)
package main

import (
	"context"

	"github.com/herald-push/herald/services/kit/service"
	"github.com/herald-push/herald/services/stream/app"
	"github.com/herald-push/herald/services/stream/config"
)

var program = service.Program[config.Config, *app.App]{Name: config.Service, Keys: config.Keys(), Load: config.Load, New: app.New}

func main() { service.Main(program) }

func run(ctx context.Context, args []string) error { return service.Run(ctx, program, args) }
