// Package natsconn connects a service to NATS the same way everywhere: never
// give up reconnecting, buffer nothing silently while disconnected, and log
// every change of state.
package natsconn

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// Connect dials url as name, with extra options (e.g. Credentials.Options).
// It does not fail when NATS is not up yet: the connection keeps retrying in
// the background and readiness reports it.
func Connect(url, name string, log *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	opts := append([]nats.Option{
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		// A publish while disconnected must fail at once (the api answers
		// 503) instead of sitting in a buffer the client never hears about.
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(c *nats.Conn) { log.Info("nats connected", "url", c.ConnectedUrlRedacted()) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Error("nats async error", "subject", subj, "err", err)
		}),
	}, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to nats: %w", err)
	}
	return nc, nil
}

// Check is a readiness check: nil while connected.
func Check(nc *nats.Conn) error {
	if !nc.IsConnected() {
		return fmt.Errorf("nats is %s", nc.Status())
	}
	return nil
}
