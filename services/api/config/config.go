// Package config declares every setting of the api service, loads them with
// the shared kit/config rules (defaults < --config YAML < HERALD_* env <
// flags) and turns them into a typed, validated Config.
package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/herald-push/herald/services/kit/auth"
	kitconfig "github.com/herald-push/herald/services/kit/config"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/herald-push/herald/services/kit/service"
	"github.com/spf13/viper"
)

// Service is the name the api logs and registers itself under.
const Service = "api"

// Config is the api's typed configuration.
type Config struct {
	service.Basics // http.addr, log.level, log.format
	NATS           natsconn.Options

	// BodyLimit bounds a single-event request body and each event's data in
	// a batch; BatchBodyLimit bounds a whole batch request body.
	BodyLimit       int64
	BatchBodyLimit  int64
	BatchMax        int
	HistoryLimit    int // default page size of the history API
	HistoryLimitMax int // largest page the history API returns
	// HistoryBytesMax caps one history page in stored bytes; "next"
	// continues where it stopped.
	HistoryBytesMax int64
	ControlTimeout  time.Duration
	PublishTimeout  time.Duration
	MaxChannels     int // sse.max_channels, checked before asking a stream replica
	// PresenceTimeout bounds the scatter-gather of a presence request;
	// PresencePrincipalsMax caps the distinct principals it lists.
	PresenceTimeout       time.Duration
	PresencePrincipalsMax int

	Events Retention

	Auth auth.Config
}

// Retention is applied to the JetStream stream at start-up. A negative
// MaxMsgsPerChannel or MaxBytes, or a zero MaxAge, means unlimited.
type Retention struct {
	MaxAge            time.Duration
	MaxMsgsPerChannel int64
	MaxBytes          int64
	Replicas          int
	DuplicateWindow   time.Duration
}

// Keys lists every setting with its default.
func Keys() []kitconfig.Key {
	keys := append(service.BasicKeys(":8081"), natsconn.Keys()...)
	keys = append(keys, []kitconfig.Key{
		{Name: "api.body_limit", Default: "64KiB", Usage: "largest single-event request body, and largest data of one event in a batch"},
		{Name: "api.batch_body_limit", Default: "1MiB", Usage: "largest batch request body"},
		{Name: "api.batch_max", Default: 100, Usage: "most events in one batch request"},
		{Name: "api.history_limit", Default: 100, Usage: "default page size of the history API"},
		{Name: "api.history_limit_max", Default: 1000, Usage: "largest page size of the history API (larger limits are capped)"},
		{Name: "api.history_bytes_max", Default: "4MiB", Usage: "largest history page in bytes of stored events; a page cut short by it has a next cursor"},
		{Name: "api.control_timeout", Default: 2 * time.Second, Usage: "how long to wait for the stream replica holding a connection; no answer means 404"},
		{Name: "api.publish_timeout", Default: 5 * time.Second, Usage: "how long to wait for the JetStream ack of a publish before answering 503"},
		{Name: "sse.max_channels", Default: 32, Usage: "most channels of one SSE connection (checked on control requests)"},
		{Name: "api.presence_timeout", Default: 250 * time.Millisecond, Usage: "how long a presence request waits for the stream replicas' answers; a known replica that misses it makes the answer partial"},
		{Name: "api.presence_principals_max", Default: 100, Usage: "most distinct principals a presence answer lists (0 lists none)"},
		{Name: "events.max_age", Default: 24 * time.Hour, Usage: "how long events are kept; 0 keeps them until another limit removes them"},
		{Name: "events.max_msgs_per_channel", Default: 10000, Usage: "events kept per channel; -1 or 0 for unlimited"},
		{Name: "events.max_bytes", Default: "1GiB", Usage: "total size of the event stream; -1 or 0 for unlimited"},
		{Name: "events.replicas", Default: 1, Usage: "JetStream replicas of the event stream (1..5; >1 needs a NATS cluster)"},
		{Name: "events.duplicate_window", Default: 2 * time.Minute, Usage: "how long an Idempotency-Key is remembered"},
	}...)
	return append(keys, auth.APIKeys()...)
}

// Load reads the configuration from args (without the program name), the
// environment and an optional --config file.
func Load(args []string) (Config, *viper.Viper, error) {
	v, err := kitconfig.Load(Service, Keys(), args)
	if err != nil {
		return Config{}, nil, err
	}
	cfg, err := FromViper(v)
	return cfg, v, err
}

// Default returns the configuration with every key at its default,
// ignoring the environment, so tests get the same values everywhere.
func Default() Config { return kitconfig.Defaults(Keys(), FromViper) }

// FromViper validates v into a Config; the error names every bad key.
func FromViper(v *viper.Viper) (Config, error) {
	r := kitconfig.NewReader(v)
	c := Config{
		Basics:                service.ReadBasics(r),
		NATS:                  natsconn.Read(r),
		BodyLimit:             r.Bytes("api.body_limit", 1<<10, 8<<20),
		BatchBodyLimit:        r.Bytes("api.batch_body_limit", 1<<10, 64<<20),
		BatchMax:              r.Int("api.batch_max", 1, 10000),
		HistoryLimit:          r.Int("api.history_limit", 1, 100000),
		HistoryLimitMax:       r.Int("api.history_limit_max", 1, 100000),
		HistoryBytesMax:       r.Bytes("api.history_bytes_max", 64<<10, 1<<30),
		ControlTimeout:        r.Duration("api.control_timeout", 10*time.Millisecond, time.Minute),
		PublishTimeout:        r.Duration("api.publish_timeout", 10*time.Millisecond, time.Minute),
		MaxChannels:           r.Int("sse.max_channels", 1, 1024),
		PresenceTimeout:       r.Duration("api.presence_timeout", 10*time.Millisecond, 10*time.Second),
		PresencePrincipalsMax: r.Int("api.presence_principals_max", 0, 1000),
		Events: Retention{
			MaxAge:            r.Duration("events.max_age", 0, 100*365*24*time.Hour),
			MaxMsgsPerChannel: unlimited(int64(r.Int("events.max_msgs_per_channel", -1, 1<<31-1))),
			MaxBytes:          unlimitedBytes(r, v, "events.max_bytes"),
			Replicas:          r.Int("events.replicas", 1, 5),
			DuplicateWindow:   r.Duration("events.duplicate_window", time.Second, 7*24*time.Hour),
		},
		Auth: auth.ReadAPI(r),
	}
	r.Check(c.HistoryLimit <= c.HistoryLimitMax, "api.history_limit",
		"%d is larger than api.history_limit_max (%d)", c.HistoryLimit, c.HistoryLimitMax)
	// JetStream refuses a duplicate window longer than the stream's max age.
	r.Check(c.Events.MaxAge == 0 || c.Events.DuplicateWindow <= c.Events.MaxAge, "events.duplicate_window",
		"%s is longer than events.max_age (%s)", c.Events.DuplicateWindow, c.Events.MaxAge)
	r.Check(c.Events.MaxAge == 0 || c.Events.MaxAge >= time.Second, "events.max_age",
		"%s is shorter than 1s (use 0 for no age limit)", c.Events.MaxAge)
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// unlimited maps the documented "0 or -1 = unlimited" to JetStream's -1.
func unlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

func unlimitedBytes(r *kitconfig.Reader, v *viper.Viper, key string) int64 {
	switch strings.TrimSpace(fmt.Sprint(v.Get(key))) {
	case "-1", "0":
		return -1
	}
	return r.Bytes(key, 1<<10, 1<<50)
}
