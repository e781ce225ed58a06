package auth_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/auth/authtest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newVerifier(t *testing.T, mod func(*auth.Config)) *auth.Verifier {
	t.Helper()
	cfg := auth.Default()
	if mod != nil {
		mod(&cfg)
	}
	v, err := auth.New(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func reasonOf(err error) string {
	if e, ok := err.(*auth.Error); ok {
		return e.Reason
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

// TestVerify: every way a token is refused gives its reason; good tokens of
// every supported algorithm give their rights.
func TestVerify(t *testing.T) {
	k := authtest.NewKeys(t)
	file := authtest.JWKSFile(t,
		authtest.JWK{KID: "rsa", ALG: "RS256", Key: &k.RSA.PublicKey},
		authtest.JWK{KID: "rsa-noalg", Key: &k.RSAAlt.PublicKey},
		authtest.JWK{KID: "ec", ALG: "ES256", Key: &k.EC.PublicKey},
		authtest.JWK{KID: "ed", ALG: "EdDSA", Key: k.Ed.Public()},
	)
	v := newVerifier(t, func(c *auth.Config) {
		c.HMACSecret, c.JWKSFile, c.Issuer, c.Audience = authtest.Secret, file, "https://app.example", "herald"
	})
	secret := []byte(authtest.Secret)
	good := func() jwt.MapClaims {
		c := authtest.Claims("alice", []string{"chat.*"}, []string{"chat.>"}, time.Hour)
		c["iss"], c["aud"] = "https://app.example", "herald"
		return c
	}
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims { c := good(); mod(c); return c }
	hs := func(c jwt.MapClaims) string { return authtest.Sign(t, jwt.SigningMethodHS256, secret, "", c) }
	now := time.Now()
	// The RSA public key's PEM bytes used as an HMAC secret: the classic
	// alg confusion attack.
	pub := authtest.JWKSJSON(t, authtest.JWK{KID: "rsa", Key: &k.RSA.PublicKey})

	tests := []struct {
		name, token, reason string
	}{
		{"HS256", hs(good()), ""},
		{"HS384", authtest.Sign(t, jwt.SigningMethodHS384, secret, "", good()), ""},
		{"HS512", authtest.Sign(t, jwt.SigningMethodHS512, secret, "", good()), ""},
		{"RS256 by kid", authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "rsa", good()), ""},
		{"RS512 on a key naming no alg", authtest.Sign(t, jwt.SigningMethodRS512, k.RSAAlt, "rsa-noalg", good()), ""},
		{"PS256 without kid", authtest.Sign(t, jwt.SigningMethodPS256, k.RSAAlt, "", good()), ""},
		{"ES256", authtest.Sign(t, jwt.SigningMethodES256, k.EC, "ec", good()), ""},
		{"EdDSA", authtest.Sign(t, jwt.SigningMethodEdDSA, k.Ed, "ed", good()), ""},
		{"alg none", authtest.None(t, good()), auth.ReasonBadAlg},
		{"HS256 signed with the RSA public key", authtest.Sign(t, jwt.SigningMethodHS256, pub, "rsa", good()), auth.ReasonBadSignature},
		{"RS256 key used for RS384 (JWK alg)", authtest.Sign(t, jwt.SigningMethodRS384, k.RSA, "rsa", good()), auth.ReasonBadAlg},
		{"ES256 signed, kid of an RSA key", authtest.Sign(t, jwt.SigningMethodES256, k.EC, "rsa-noalg", good()), auth.ReasonBadAlg},
		{"EdDSA with kid of the EC key", authtest.Sign(t, jwt.SigningMethodEdDSA, k.Ed, "ec", good()), auth.ReasonBadAlg},
		{"unknown kid", authtest.Sign(t, jwt.SigningMethodRS256, k.Unknown, "nope", good()), auth.ReasonUnknownKid},
		{"key in no set, no kid", authtest.Sign(t, jwt.SigningMethodRS256, k.Unknown, "", good()), auth.ReasonBadSignature},
		{"wrong HMAC secret", authtest.Sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), "", good()), auth.ReasonBadSignature},
		{"tampered payload", tamper(hs(good())), auth.ReasonBadSignature},
		{"expired", hs(with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), auth.ReasonExpired},
		{"expired within leeway", hs(with(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() })), ""},
		{"nbf in the future", hs(with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), auth.ReasonNotYetValid},
		{"iat in the future", hs(with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })), auth.ReasonNotYetValid},
		{"no exp", hs(with(func(c jwt.MapClaims) { delete(c, "exp") })), auth.ReasonNoExp},
		{"wrong iss", hs(with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), auth.ReasonBadIssuer},
		{"no iss", hs(with(func(c jwt.MapClaims) { delete(c, "iss") })), auth.ReasonBadIssuer},
		{"wrong aud", hs(with(func(c jwt.MapClaims) { c["aud"] = []string{"other"} })), auth.ReasonBadAudience},
		{"no aud", hs(with(func(c jwt.MapClaims) { delete(c, "aud") })), auth.ReasonBadAudience},
		{"no sub", hs(with(func(c jwt.MapClaims) { delete(c, "sub") })), auth.ReasonNoSub},
		{"empty sub", hs(with(func(c jwt.MapClaims) { c["sub"] = "" })), auth.ReasonNoSub},
		{"herald claim not an object", hs(with(func(c jwt.MapClaims) { c["herald"] = "all" })), auth.ReasonMalformed},
		{"invalid pattern granted", hs(with(func(c jwt.MapClaims) { c["herald"] = map[string]any{"subscribe": []string{"a.>.b"}} })), auth.ReasonMalformed},
		{"exp not a number", hs(with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" })), auth.ReasonMalformed},
		{"not a JWT", "hello", auth.ReasonMalformed},
		{"two parts", "eyJhbGciOiJIUzI1NiJ9.e30", auth.ReasonMalformed},
		{"bad base64", "###.###.###", auth.ReasonMalformed},
		{"unknown alg", raw(`{"alg":"XX999","typ":"JWT"}`, `{"sub":"a"}`), auth.ReasonBadAlg},
		{"huge token", strings.Repeat("a", 9000), auth.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := v.Verify(context.Background(), tt.token)
			if got := reasonOf(err); got != tt.reason {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
			if tt.reason == "" && (r.Principal != "alice" || r.Anonymous || !r.CanPublish("chat.lobby") || r.CanPublish("chat.a.b") ||
				!r.CanSubscribe("chat.a.b") || r.CanSubscribe(">") || r.Expires.IsZero()) {
				t.Errorf("rights %+v", r)
			}
		})
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","exp":9999999999,"herald":{"publish":[">"],"subscribe":[">"]}}`))
	return strings.Join(parts, ".")
}

func raw(header, payload string) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(header)) + "." + e([]byte(payload)) + "." + e([]byte("sig"))
}

// TestVerifyFamilies: a service without a JWKS refuses asymmetric algs and
// one without a secret refuses HMAC, both as bad_alg; require_exp=false
// accepts a token without exp.
func TestVerifyFamilies(t *testing.T) {
	k := authtest.NewKeys(t)
	hmacOnly := newVerifier(t, func(c *auth.Config) { c.HMACSecret, c.RequireExp = authtest.Secret, false })
	rs := authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "rsa", authtest.Claims("a", nil, nil, time.Hour))
	if _, err := hmacOnly.Verify(context.Background(), rs); reasonOf(err) != auth.ReasonBadAlg {
		t.Errorf("RS256 without JWKS: %v", err)
	}
	noExp := authtest.Sign(t, jwt.SigningMethodHS256, []byte(authtest.Secret), "", authtest.Claims("a", nil, nil, 0))
	if r, err := hmacOnly.Verify(context.Background(), noExp); err != nil || !r.Expires.IsZero() {
		t.Errorf("no exp with require_exp=false: %+v %v", r, err)
	}
	jwksOnly := newVerifier(t, func(c *auth.Config) {
		c.JWKSFile = authtest.JWKSFile(t, authtest.JWK{KID: "rsa", Key: &k.RSA.PublicKey})
	})
	if _, err := jwksOnly.Verify(context.Background(), authtest.Token(t, "a", nil, nil)); reasonOf(err) != auth.ReasonBadAlg {
		t.Errorf("HS256 without a secret: %v", err)
	}
	if _, err := jwksOnly.Verify(context.Background(), rs); err != nil {
		t.Errorf("RS256 from jwks_file: %v", err)
	}
}
