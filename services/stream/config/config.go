// Package config declares every setting of the stream service, with its
// default, and loads them into a typed, validated Config (defaults < --config
// YAML < HERALD_* environment < flags, as kit/config does for every service).
package config

import (
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/herald-push/herald/services/kit/auth"
	kitconfig "github.com/herald-push/herald/services/kit/config"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/herald-push/herald/services/kit/service"
	"github.com/spf13/viper"
)

// Service is the service name used in logs, NATS connection names and flags.
const Service = "stream"

// Config is the stream service's typed configuration.
type Config struct {
	HTTPAddr  string
	NATS      natsconn.Options
	LogLevel  string
	LogFormat string

	// Heartbeat is how long a stream may stay idle before a ": hb" comment.
	Heartbeat time.Duration
	// Retry is the reconnection delay sent to clients as the first frame.
	Retry time.Duration
	// QueueSize bounds each connection's queue of live events; a client
	// whose queue fills is disconnected as slow and resumes losslessly.
	QueueSize int
	// MaxChannels bounds the channels (or patterns) of one connection.
	MaxChannels int
	// ShutdownGrace bounds the SIGTERM path.
	ShutdownGrace time.Duration
	// MaxLifetime, when not 0, closes a stream after about this long (±20%)
	// so clients rebalance across replicas after a scale-out.
	MaxLifetime time.Duration
	// RingSize is how many recent events are kept in memory to serve
	// resumes without reading JetStream.
	RingSize int
	// WriteTimeout bounds one write to a client; a client that does not
	// read for this long is disconnected.
	WriteTimeout time.Duration
	// ReplayConcurrency bounds the resumes reading JetStream at once (each
	// uses a short-lived consumer; NATS allows 1,000 per stream by default).
	ReplayConcurrency int
	// ConsumerHeartbeat is the idle heartbeat the event consumer asks
	// JetStream for; two missed in a row mean the server holding the
	// consumer died or hung, and the consumer is recreated elsewhere.
	ConsumerHeartbeat time.Duration

	Auth auth.Config

	// Byte budgets (issue #10): a handful of slow clients or large events
	// must not take a replica's memory or its NATS link.
	//
	// QueueBytes bounds the frame bytes queued for one connection, beside
	// QueueSize; over it the client is disconnected as slow.
	QueueBytes int64
	// RingBytes bounds the resume ring in frame bytes, beside RingSize.
	RingBytes int64
	// ReplayFetchBytes bounds one JetStream pull of a resume.
	ReplayFetchBytes int64
	// MaxConnections caps the streams of this replica; 0 derives it from
	// the file-descriptor limit (ConnectionLimit).
	MaxConnections int
}

// Keys lists every setting with its default; the README's table comes from here.
func Keys() []kitconfig.Key {
	return append(ownKeys(), auth.Keys()...)
}

func ownKeys() []kitconfig.Key {
	d := Default()
	keys := []kitconfig.Key{
		{Name: "http.addr", Default: d.HTTPAddr, Usage: "listen address of the HTTP server"},
	}
	keys = append(keys, natsconn.Keys()...)
	return append(keys, []kitconfig.Key{
		{Name: "log.level", Default: d.LogLevel, Usage: "log level: debug, info, warn or error"},
		{Name: "log.format", Default: d.LogFormat, Usage: "log format: json or text"},
		{Name: "sse.heartbeat", Default: d.Heartbeat, Usage: "idle time before a heartbeat comment is sent"},
		{Name: "sse.retry", Default: d.Retry, Usage: "reconnection delay sent to clients in the retry: field"},
		{Name: "sse.queue_size", Default: d.QueueSize, Usage: "per-connection queue of live events; a client whose queue fills is disconnected"},
		{Name: "sse.max_channels", Default: d.MaxChannels, Usage: "maximum channels or patterns per connection"},
		{Name: "sse.shutdown_grace", Default: d.ShutdownGrace, Usage: "time allowed to tell clients to reconnect and close them on shutdown"},
		{Name: "sse.max_lifetime", Default: d.MaxLifetime, Usage: "close streams after about this long (±20% jitter) so clients rebalance; 0 = never"},
		{Name: "sse.ring_size", Default: d.RingSize, Usage: "recent events kept in memory to serve resumes without JetStream; 0 = always read JetStream"},
		{Name: "sse.write_timeout", Default: d.WriteTimeout, Usage: "a client that does not accept a write for this long is disconnected"},
		{Name: "sse.replay_concurrency", Default: d.ReplayConcurrency, Usage: "resumes reading JetStream at once (each uses a short-lived consumer); more wait their turn"},
		{Name: "consumer.heartbeat", Default: d.ConsumerHeartbeat, Usage: "idle heartbeat the event consumer expects from JetStream; two missed in a row recreate it from the next sequence (500ms..15s)"},
		{Name: "sse.queue_bytes", Default: "1MiB", Usage: "per-connection queue of live events in bytes; a client over it is disconnected as slow and resumes"},
		{Name: "sse.ring_bytes", Default: "64MiB", Usage: "the resume ring's bound in bytes, beside sse.ring_size"},
		{Name: "sse.replay_fetch_bytes", Default: "256KiB", Usage: "bytes one JetStream pull of a resume asks for (with at most 256 events)"},
		{Name: "sse.max_connections", Default: d.MaxConnections, Usage: "streams this replica serves at once; more get a retry: and close; 0 = the file-descriptor limit minus 1,024"},
	}...)
}

// Default returns the configuration with every default; tests start from it.
func Default() Config {
	return Config{
		HTTPAddr:      ":8082",
		NATS:          natsconn.Default(),
		LogLevel:      "info",
		LogFormat:     "json",
		Heartbeat:     15 * time.Second,
		Retry:         3 * time.Second,
		QueueSize:     256,
		MaxChannels:   32,
		ShutdownGrace: 10 * time.Second,
		MaxLifetime:   0,
		RingSize:      10000,
		WriteTimeout:  10 * time.Second,

		ReplayConcurrency: 32,
		ConsumerHeartbeat: time.Second,
		Auth:              auth.Default(),
		QueueBytes:        1 << 20,
		RingBytes:         64 << 20,
		ReplayFetchBytes:  256 << 10,
		MaxConnections:    0,
	}
}

// Load reads the configuration from args (without the program name), the
// environment and an optional --config file. The viper is returned so the
// caller can log every value with secrets masked.
func Load(args []string) (Config, *viper.Viper, error) {
	v, err := kitconfig.Load(Service, Keys(), args)
	if err != nil {
		return Config{}, nil, err
	}
	cfg, err := FromViper(v)
	return cfg, v, err
}

// FromViper reads and validates every key; the error lists every bad key.
func FromViper(v *viper.Viper) (Config, error) {
	r := kitconfig.NewReader(v)
	c := Config{
		HTTPAddr:      r.String("http.addr"),
		NATS:          natsconn.Read(r),
		LogLevel:      r.OneOf("log.level", "debug", "info", "warn", "error"),
		LogFormat:     r.OneOf("log.format", "json", "text"),
		Heartbeat:     r.Duration("sse.heartbeat", time.Millisecond, time.Hour),
		Retry:         r.Duration("sse.retry", time.Millisecond, time.Hour),
		QueueSize:     r.Int("sse.queue_size", 1, 1<<20),
		MaxChannels:   r.Int("sse.max_channels", 1, 1024),
		ShutdownGrace: r.Duration("sse.shutdown_grace", 0, time.Hour),
		MaxLifetime:   r.Duration("sse.max_lifetime", 0, 30*24*time.Hour),
		RingSize:      r.Int("sse.ring_size", 0, 10_000_000),
		WriteTimeout:  r.Duration("sse.write_timeout", time.Millisecond, time.Hour),

		ReplayConcurrency: r.Int("sse.replay_concurrency", 1, 1000),
		ConsumerHeartbeat: r.Duration("consumer.heartbeat", 500*time.Millisecond, 15*time.Second),
		Auth:              auth.Read(r),
		QueueBytes:        r.Bytes("sse.queue_bytes", 4<<10, 1<<30),
		RingBytes:         r.Bytes("sse.ring_bytes", 0, 1<<40),
		ReplayFetchBytes:  r.Bytes("sse.replay_fetch_bytes", 4<<10, 64<<20),
		MaxConnections:    r.Int("sse.max_connections", 0, 10_000_000),
	}
	if c.HTTPAddr != "" {
		_, _, err := net.SplitHostPort(c.HTTPAddr)
		r.Check(err == nil, "http.addr", "%q is not host:port (e.g. :8082)", c.HTTPAddr)
	}
	r.Check(c.MaxLifetime == 0 || c.MaxLifetime >= time.Second, "sse.max_lifetime", "%s must be 0 (off) or at least 1s", c.MaxLifetime)
	if err := r.Err(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// fdHeadroom is the file descriptors kept for everything but streams
// (NATS, listeners, health checks, accept bursts) when sse.max_connections
// is derived from the fd limit.
const fdHeadroom = 1024

// ConnectionLimit is sse.max_connections, or when it is 0 the soft
// RLIMIT_NOFILE (which Go raises to the hard limit at start) minus
// fdHeadroom, at least 64.
func (c Config) ConnectionLimit() int {
	if c.MaxConnections > 0 {
		return c.MaxConnections
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<31 {
		return 10_000 // unknown or unlimited: a replica's practical size
	}
	return max(int(rl.Cur)-fdHeadroom, 64)
}

// Basics returns the settings every service has, for kit/service.
func (c Config) Basics() service.Basics {
	return service.Basics{HTTPAddr: c.HTTPAddr, LogLevel: c.LogLevel, LogFormat: c.LogFormat}
}
