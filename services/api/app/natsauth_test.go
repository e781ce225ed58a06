package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/herald-push/herald/services/api/app"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/herald-push/herald/services/kit/testkit"
)

// TestNATSUserPassword: with nats.user and nats.password the api gets into
// a NATS server that requires them; without them it never becomes ready.
func TestNATSUserPassword(t *testing.T) {
	ns := testkit.StartNATS(t, &server.Options{JetStream: true, Username: "herald", Password: "pw-1"}).Server()
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
	testkit.Eventually(t, 10*time.Second, func() bool { return good.Ready(context.Background()) == nil }, "api ready with credentials")
	bad := start(natsconn.Credentials{User: "herald", Password: "wrong"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if bad.Ready(ctx) == nil {
		t.Error("api with a wrong password is ready")
	}
}
