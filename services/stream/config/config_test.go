package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	cfg, _, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("Load(nil) = %+v, want %+v", cfg, Default())
	}
}

func TestLoadOverrides(t *testing.T) {
	t.Setenv("HERALD_SSE_HEARTBEAT", "2s")
	t.Setenv("HERALD_SSE_QUEUE_SIZE", "64")
	cfg, _, err := Load([]string{"--sse.max_channels=4", "--sse.heartbeat=3s"})
	if err != nil {
		t.Fatal(err)
	}
	// flags beat the environment, which beats the default
	if cfg.Heartbeat != 3*time.Second || cfg.QueueSize != 64 || cfg.MaxChannels != 4 {
		t.Fatalf("got %+v", cfg)
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		env, value string
		want       string
	}{
		{"HERALD_SSE_HEARTBEAT", "soon", "sse.heartbeat (HERALD_SSE_HEARTBEAT)"},
		{"HERALD_SSE_HEARTBEAT", "0s", "sse.heartbeat"},
		{"HERALD_SSE_QUEUE_SIZE", "0", "sse.queue_size"},
		{"HERALD_SSE_MAX_CHANNELS", "many", "sse.max_channels"},
		{"HERALD_SSE_RING_SIZE", "-1", "sse.ring_size"},
		{"HERALD_SSE_MAX_LIFETIME", "10ms", "sse.max_lifetime"},
		{"HERALD_LOG_LEVEL", "loud", "log.level"},
		{"HERALD_LOG_FORMAT", "xml", "log.format"},
		{"HERALD_HTTP_ADDR", "8082", "http.addr"},
		{"HERALD_NATS_URL", " ", "nats.url"},
		{"HERALD_NATS_PING_INTERVAL", "0s", "nats.ping_interval"},
		{"HERALD_NATS_MAX_PINGS_OUT", "0", "nats.max_pings_out"},
		{"HERALD_CONSUMER_HEARTBEAT", "100ms", "consumer.heartbeat"}, // nats.go refuses < 500ms
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, _, err := Load(nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}
