package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/natsconn"
	"github.com/herald-push/herald/services/kit/service"
)

func TestDefault(t *testing.T) {
	t.Setenv("HERALD_API_BATCH_MAX", "7") // Default ignores the environment
	got := config.Default()
	want := config.Config{
		Basics: service.Basics{HTTPAddr: ":8081", LogLevel: "info", LogFormat: "json"}, NATS: natsconn.Default(),
		BodyLimit: 64 << 10, BatchBodyLimit: 1 << 20, BatchMax: 100, HistoryLimit: 100, HistoryLimitMax: 1000,
		HistoryBytesMax: 4 << 20,
		ControlTimeout:  2 * time.Second, PublishTimeout: 5 * time.Second, MaxChannels: 32,
		PresenceTimeout: 250 * time.Millisecond, PresencePrincipalsMax: 100,
		Events: config.Retention{MaxAge: 24 * time.Hour, MaxMsgsPerChannel: 10000, MaxBytes: 1 << 30, Replicas: 1, DuplicateWindow: 2 * time.Minute},
		// Fail closed: no key, no anonymous rights.
		Auth: auth.Config{RequireExp: true, Leeway: 30 * time.Second, CookieName: "herald_token"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Default()\n got %+v\nwant %+v", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "api.yaml")
	if err := os.WriteFile(file, []byte("api:\n  batch_max: 7\nevents:\n  max_age: 2h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(config.Config) bool
	}{
		{"env", map[string]string{"HERALD_API_BODY_LIMIT": "1MiB", "HERALD_NATS_URL": "nats://n:4222"}, nil,
			func(c config.Config) bool { return c.BodyLimit == 1<<20 && c.NATS.URL == "nats://n:4222" }},
		{"file", nil, []string{"--config", file},
			func(c config.Config) bool { return c.BatchMax == 7 && c.Events.MaxAge == 2*time.Hour }},
		{"flag beats env beats file", map[string]string{"HERALD_API_BATCH_MAX": "8"}, []string{"--config", file, "--api.batch_max=9"},
			func(c config.Config) bool { return c.BatchMax == 9 }},
		{"env beats file", map[string]string{"HERALD_API_BATCH_MAX": "8"}, []string{"--config", file},
			func(c config.Config) bool { return c.BatchMax == 8 }},
		{"unlimited -1", map[string]string{"HERALD_EVENTS_MAX_MSGS_PER_CHANNEL": "-1", "HERALD_EVENTS_MAX_BYTES": "-1", "HERALD_EVENTS_MAX_AGE": "0s"}, nil,
			func(c config.Config) bool {
				return c.Events.MaxMsgsPerChannel == -1 && c.Events.MaxBytes == -1 && c.Events.MaxAge == 0
			}},
		{"unlimited 0", map[string]string{"HERALD_EVENTS_MAX_MSGS_PER_CHANNEL": "0", "HERALD_EVENTS_MAX_BYTES": "0"}, nil,
			func(c config.Config) bool { return c.Events.MaxMsgsPerChannel == -1 && c.Events.MaxBytes == -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, _, err := config.Load(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // every line the error must contain
	}{
		{"bad values", map[string]string{
			"HERALD_API_BODY_LIMIT": "lots", "HERALD_API_BATCH_MAX": "0", "HERALD_LOG_LEVEL": "loud",
			"HERALD_EVENTS_REPLICAS": "9", "HERALD_API_CONTROL_TIMEOUT": "2",
		}, []string{
			`config api.body_limit (HERALD_API_BODY_LIMIT): "lots" is not a size like 65536, 64KiB or 1MiB`,
			`config api.batch_max (HERALD_API_BATCH_MAX): 0 is outside 1..10000`,
			`config log.level (HERALD_LOG_LEVEL): "loud" is not one of debug, info, warn, error`,
			`config events.replicas (HERALD_EVENTS_REPLICAS): 9 is outside 1..5`,
			`config api.control_timeout (HERALD_API_CONTROL_TIMEOUT): "2" is not a duration like 15s or 1h30m`,
		}},
		{"cross field", map[string]string{
			"HERALD_API_HISTORY_LIMIT": "50", "HERALD_API_HISTORY_LIMIT_MAX": "10",
			"HERALD_EVENTS_MAX_AGE": "1m", "HERALD_EVENTS_DUPLICATE_WINDOW": "2m",
		}, []string{
			`config api.history_limit (HERALD_API_HISTORY_LIMIT): 50 is larger than api.history_limit_max (10)`,
			`config events.duplicate_window (HERALD_EVENTS_DUPLICATE_WINDOW): 2m0s is longer than events.max_age (1m0s)`,
		}},
		{"empty url", map[string]string{"HERALD_NATS_URL": " "}, []string{`config nats.url (HERALD_NATS_URL): must not be empty`}},
		{"nats pings", map[string]string{"HERALD_NATS_PING_INTERVAL": "1ms", "HERALD_NATS_MAX_PINGS_OUT": "0"}, []string{
			`config nats.ping_interval (HERALD_NATS_PING_INTERVAL): 1ms is outside 100ms..10m0s`,
			`config nats.max_pings_out (HERALD_NATS_MAX_PINGS_OUT): 0 is outside 1..100`,
		}},
		{"max bytes negative", map[string]string{"HERALD_EVENTS_MAX_BYTES": "-5"}, []string{`config events.max_bytes (HERALD_EVENTS_MAX_BYTES): "-5" is not a size`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, _, err := config.Load(nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestKeysHaveUsage(t *testing.T) {
	for _, k := range config.Keys() {
		if k.Usage == "" || k.Default == nil {
			t.Errorf("key %s lacks usage or default", k.Name)
		}
	}
}
