package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/auth/authtest"
)

// BenchmarkVerify is the cost a token adds to a publish or a stream's
// connect (it is checked once per request, never per event).
func BenchmarkVerify(b *testing.B) {
	k := authtest.NewKeys(b)
	cfg := auth.Default()
	cfg.HMACSecret = authtest.Secret
	cfg.JWKSFile = authtest.JWKSFile(b,
		authtest.JWK{KID: "rsa", ALG: "RS256", Key: &k.RSA.PublicKey},
		authtest.JWK{KID: "ec", ALG: "ES256", Key: &k.EC.PublicKey},
		authtest.JWK{KID: "ed", ALG: "EdDSA", Key: k.Ed.Public()})
	v, err := auth.New(cfg, quiet())
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	c := func() jwt.Claims { return authtest.Claims("a", []string{"chat.*"}, []string{"chat.*"}, time.Hour) }
	for _, tt := range []struct {
		name, token string
	}{
		{"HS256", authtest.Sign(b, jwt.SigningMethodHS256, []byte(authtest.Secret), "", c())},
		{"RS256", authtest.Sign(b, jwt.SigningMethodRS256, k.RSA, "rsa", c())},
		{"ES256", authtest.Sign(b, jwt.SigningMethodES256, k.EC, "ec", c())},
		{"EdDSA", authtest.Sign(b, jwt.SigningMethodEdDSA, k.Ed, "ed", c())},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tt.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
