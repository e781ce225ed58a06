package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
)

func TestMaskURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://user:pw@h1:4222", "nats://user:*****@h1:4222"},
		{"nats://TOKEN@h2", "nats://*****@h2"},
		// Every URL of a list, not only the first.
		{"nats://a:pw1@h1:4222,nats://TOKEN@h2,nats://h3", "nats://a:*****@h1:4222,nats://*****@h2,nats://h3"},
		{"nats://h1, nats://u:p@h2", "nats://h1, nats://u:*****@h2"},
		{"nats://h1,nats://TOKEN@h2", "nats://h1,nats://*****@h2"},
		// An '@' after the authority is not a credential.
		{"https://idp.example/jwks?who=a@b", "https://idp.example/jwks?who=a@b"},
		{"https://u:p@idp.example/x@y", "https://u:*****@idp.example/x@y"},
		{"p@ss:word", "p@ss:word"},
	}
	for _, tt := range tests {
		if got := MaskURL(tt.in); got != tt.want {
			t.Errorf("MaskURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskedURLList(t *testing.T) {
	t.Setenv("HERALD_NATS_URL", "nats://u:secret1@h1:4222,nats://secret2@h2:4222")
	v, err := Load("test", testKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := Masked(v, testKeys)["nats.url"].(string)
	if strings.Contains(got, "secret") {
		t.Fatalf("masked nats.url still holds a secret: %s", got)
	}
}

func TestList(t *testing.T) {
	v := viper.New()
	v.Set("a", "chat.*, ticker  news,,")
	v.Set("b", []any{"x", " y "})
	v.Set("c", "")
	v.Set("d", 15*time.Second)
	r := NewReader(v)
	for key, want := range map[string]string{"a": "chat.*|ticker|news", "b": "x|y", "c": ""} {
		if got := strings.Join(r.List(key), "|"); got != want {
			t.Errorf("List(%s) = %q, want %q", key, got, want)
		}
	}
	if r.List("c") != nil || r.Optional("c") != "" || r.Err() != nil {
		t.Errorf("Optional of an empty key: %q, %v", r.Optional("c"), r.Err())
	}
}
