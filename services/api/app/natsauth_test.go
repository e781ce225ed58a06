package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/herald-push/herald/services/api/app"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/natsconn"
)

// TestNATSUserPassword: with nats.user and nats.password the api gets into
// a NATS server that requires them; without them it never becomes ready.
func TestNATSUserPassword(t *testing.T) {
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "herald", Password: "pw-1", NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(ns.Shutdown)
	start := func(creds natsconn.Credentials) *app.App {
		cfg := config.Default()
		cfg.NATS.URL, cfg.NATS.Credentials = ns.ClientURL(), creds
		a, err := app.New(cfg, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		return a
	}
	good := start(natsconn.Credentials{User: "herald", Password: "pw-1"})
	eventually(t, 10*time.Second, "api ready with credentials", func() bool { return good.Ready(context.Background()) == nil })
	bad := start(natsconn.Credentials{User: "herald", Password: "wrong"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if bad.Ready(ctx) == nil {
		t.Error("api with a wrong password is ready")
	}
}
