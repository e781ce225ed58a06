// Package natsconn connects a service to NATS the same way everywhere: never
// give up reconnecting, buffer nothing silently while disconnected, notice a
// hung server within seconds (client pings), and log every change of state
// with how long the link was down.
package natsconn

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/herald-push/herald/services/kit/config"
)

// Options are the NATS settings both services share (the nats.* keys).
type Options struct {
	// URL is one URL or a comma-separated list: give every node of a
	// cluster, so a restarted service finds one that is up.
	URL string
	// PingInterval and MaxPingsOut bound how long a hung server (alive at
	// the TCP level, answering nothing) keeps the connection: it is dropped
	// as stale once MaxPingsOut pings in a row went unanswered, i.e. after
	// at most (MaxPingsOut+1) × PingInterval. nats.go's default is 2 min ×
	// 2, which kept a frozen node's clients for minutes.
	PingInterval time.Duration
	MaxPingsOut  int
	// Credentials authenticate to NATS (nats.user/password/creds).
	Credentials Credentials
}

// Defaults of the nats.* keys.
const (
	DefaultURL          = "nats://127.0.0.1:4222"
	DefaultPingInterval = 5 * time.Second
	DefaultMaxPingsOut  = 2
)

// Keys declares the nats.* settings once for every service.
func Keys() []config.Key {
	return []config.Key{
		{Name: "nats.url", Default: DefaultURL, Usage: "NATS server URL(s), comma-separated; list every node of a cluster"},
		{Name: "nats.ping_interval", Default: DefaultPingInterval, Usage: "how often the client pings NATS; a server that misses nats.max_pings_out pings in a row is dropped and another one used"},
		{Name: "nats.max_pings_out", Default: DefaultMaxPingsOut, Usage: "unanswered pings after which the NATS connection is treated as dead"},
		{Name: "nats.user", Default: "", Usage: "NATS user name (with nats.password)"},
		{Name: "nats.password", Default: "", Secret: true, Usage: "NATS password of nats.user"},
		{Name: "nats.creds", Default: "", Usage: "path of a NATS .creds file (decentralized JWT auth)"},
	}
}

// Read reads the nats.* keys.
func Read(r *config.Reader) Options {
	return Options{
		URL:          r.String("nats.url"),
		PingInterval: r.Duration("nats.ping_interval", 100*time.Millisecond, 10*time.Minute),
		MaxPingsOut:  r.Int("nats.max_pings_out", 1, 100),
		Credentials:  readCredentials(r),
	}
}

// Default returns the options with every default, for tests.
func Default() Options {
	return Options{URL: DefaultURL, PingInterval: DefaultPingInterval, MaxPingsOut: DefaultMaxPingsOut}
}

// Connect dials o.URL as name with o's credentials and extra options. It
// does not fail when NATS is not up yet: the connection keeps retrying in the
// background and readiness reports it.
func Connect(o Options, name string, log *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxPingsOut <= 0 {
		o.MaxPingsOut = DefaultMaxPingsOut
	}
	var downSince atomic.Int64 // unix nanos of the last disconnect, 0 while up
	opts := append([]nats.Option{
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.PingInterval(o.PingInterval),
		nats.MaxPingsOutstanding(o.MaxPingsOut),
		// A publish while disconnected must fail at once (the api answers
		// 503) instead of sitting in a buffer the client never hears about.
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(c *nats.Conn) { log.Info("nats connected", "url", c.ConnectedUrlRedacted()) }),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			downSince.CompareAndSwap(0, time.Now().UnixNano())
			// err says why: "stale connection" is a hung server caught by
			// the pings, EOF a closed or killed one.
			log.Warn("nats disconnected", "err", err, "server", c.ConnectedServerName())
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			down := time.Duration(0)
			if t := downSince.Swap(0); t != 0 {
				down = time.Since(time.Unix(0, t))
			}
			log.Info("nats reconnected", "url", c.ConnectedUrlRedacted(), "server", c.ConnectedServerName(),
				"down_for", down.Round(time.Millisecond).String(), "reconnects", c.Stats().Reconnects)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Error("nats async error", "subject", subj, "err", err)
		}),
	}, o.Credentials.options()...)
	opts = append(opts, extra...)
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to nats: %w", err)
	}
	return nc, nil
}

// linkTimeout bounds the round trip Check makes. A healthy link answers in
// well under a millisecond; a hung server never does.
const linkTimeout = time.Second

// Check is a readiness check: nil while connected and the server answers a
// PING. The round trip is what makes /readyz truthful while a server is hung
// but the connection is not yet dropped as stale.
func Check(ctx context.Context, nc *nats.Conn) error {
	if !nc.IsConnected() {
		return fmt.Errorf("nats is %s", nc.Status())
	}
	ctx, cancel := context.WithTimeout(ctx, linkTimeout)
	defer cancel()
	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("nats link stalled: no answer to a ping from %s within %s: %w", nc.ConnectedServerName(), linkTimeout, err)
	}
	return nil
}

// Suspect checks the link after a sign that its server may be hung (a
// consumer's missed heartbeats, a publish's missing ack). If the server does
// not answer a ping within a second, the connection moves to another server
// of nats.url at once, instead of waiting for the client pings to give up
// (up to (max_pings_out+1) × ping_interval). It reports whether it moved.
func Suspect(nc *nats.Conn, log *slog.Logger, why string) bool {
	if !nc.IsConnected() {
		return false // already reconnecting
	}
	ctx, cancel := context.WithTimeout(context.Background(), linkTimeout)
	defer cancel()
	if err := nc.FlushWithContext(ctx); err == nil {
		return false
	}
	server := nc.ConnectedServerName()
	if err := nc.ForceReconnect(); err != nil {
		log.Warn("nats server not answering; could not force a reconnect", "server", server, "why", why, "err", err)
		return false
	}
	log.Warn("nats server not answering a ping within 1s; moving to another", "server", server, "why", why)
	return true
}
