package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/auth/authtest"
)

// TestJWKSRotation: a real JWKS endpoint rotates its keys mid-test. A token
// with the new kid makes the verifier fetch again and is accepted; the key
// the rotation removed is refused from then on; a flood of unknown kids
// does not make it fetch again and again.
func TestJWKSRotation(t *testing.T) {
	k := authtest.NewKeys(t)
	srv := authtest.NewJWKSServer(t, authtest.JWK{KID: "k1", ALG: "RS256", Key: &k.RSA.PublicKey})
	v := newVerifier(t, func(c *auth.Config) { c.JWKSURL = srv.URL })
	ctx := context.Background()
	claims := func() jwt.Claims { return authtest.Claims("svc", []string{"a"}, nil, time.Hour) }
	old := authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "k1", claims())
	newer := authtest.Sign(t, jwt.SigningMethodRS256, k.RSAAlt, "k2", claims())

	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatalf("k1 before the rotation: %v", err)
	}
	fetches := srv.Fetches.Load()
	if fetches != 1 {
		t.Fatalf("%d fetches at start, want 1", fetches)
	}

	srv.Set(t, authtest.JWK{KID: "k2", ALG: "RS256", Key: &k.RSAAlt.PublicKey})
	if _, err := v.Verify(ctx, newer); err != nil {
		t.Fatalf("k2 after the rotation: %v", err)
	}
	if got := srv.Fetches.Load(); got != fetches+1 {
		t.Fatalf("%d fetches after the new kid, want %d", got, fetches+1)
	}
	if _, err := v.Verify(ctx, old); reasonOf(err) != auth.ReasonUnknownKid {
		t.Fatalf("k1 after it was removed: %v, want unknown_kid", err)
	}
	for i := range 20 {
		forged := authtest.Sign(t, jwt.SigningMethodRS256, k.Unknown, "rand-"+string(rune('a'+i)), claims())
		if _, err := v.Verify(ctx, forged); reasonOf(err) != auth.ReasonUnknownKid {
			t.Fatalf("forged kid: %v", err)
		}
	}
	if got := srv.Fetches.Load(); got > fetches+1 {
		t.Errorf("unknown kids caused %d more fetches; the refresh is rate limited", got-fetches-1)
	}
	if _, err := v.Verify(ctx, newer); err != nil {
		t.Fatalf("k2 still good: %v", err)
	}
}

// TestJWKSURLAndFile: keys of a file and of a URL are used together.
func TestJWKSURLAndFile(t *testing.T) {
	k := authtest.NewKeys(t)
	srv := authtest.NewJWKSServer(t, authtest.JWK{KID: "url", ALG: "ES256", Key: &k.EC.PublicKey})
	file := authtest.JWKSFile(t, authtest.JWK{KID: "file", ALG: "EdDSA", Key: k.Ed.Public()})
	v := newVerifier(t, func(c *auth.Config) { c.JWKSURL, c.JWKSFile = srv.URL, file })
	for _, tok := range []string{
		authtest.Sign(t, jwt.SigningMethodES256, k.EC, "url", authtest.Claims("a", nil, nil, time.Hour)),
		authtest.Sign(t, jwt.SigningMethodEdDSA, k.Ed, "file", authtest.Claims("a", nil, nil, time.Hour)),
	} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Error(err)
		}
	}
}

func TestJWKSFileErrors(t *testing.T) {
	for name, path := range map[string]string{"missing": "/nonexistent/jwks.json", "not json": writeFile(t, "nope")} {
		cfg := auth.Default()
		cfg.JWKSFile = path
		if _, err := auth.New(cfg, quiet()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
