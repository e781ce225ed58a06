package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-push/herald/services/kit/auth/authtest"
	"github.com/herald-push/herald/services/stream/config"
)

// TestJWKSRotation: the stream verifies tokens against a real JWKS endpoint
// that rotates its key mid-test: the new kid is accepted after the refresh
// it triggers, the removed one refused.
func TestJWKSRotation(t *testing.T) {
	k := authtest.NewKeys(t)
	jwks := authtest.NewJWKSServer(t, authtest.JWK{KID: "k1", ALG: "RS256", Key: &k.RSA.PublicKey})
	e := newEnv(t, jetstream.StreamConfig{})
	a := startApp(t, e.nats.URL(), true, func(c *config.Config) {
		c.Auth = config.Default().Auth
		c.Auth.JWKSURL = jwks.URL
	})
	claims := func() jwt.Claims { return authtest.Claims("svc", nil, []string{"feed.*"}, time.Hour) }
	k1 := authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "k1", claims())
	k2 := authtest.Sign(t, jwt.SigningMethodES256, k.EC, "k2", claims())
	status := func(tok string) (int, string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel() // ends an accepted stream
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.streamURL("feed.x")+"&access_token="+url.QueryEscape(tok), nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return 200, ""
		}
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if s, body := status(k1); s != 200 {
		t.Fatalf("k1 before rotation: %d %s", s, body)
	}
	jwks.Set(t, authtest.JWK{KID: "k2", ALG: "ES256", Key: &k.EC.PublicKey})
	if s, body := status(k2); s != 200 {
		t.Fatalf("k2 after rotation: %d %s", s, body)
	}
	if s, body := status(k1); s != 401 || !strings.Contains(body, `"reason":"unknown_kid"`) {
		t.Fatalf("k1 after its removal: %d %s", s, body)
	}
}
