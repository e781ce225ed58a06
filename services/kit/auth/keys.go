package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"

	"github.com/herald-push/herald/services/kit/config"
)

// newKeyStore returns the JWKS keys of cfg (nil when it names none): the
// file's, read now, and the URL's, kept fresh by jwkset (hourly, and on an
// unknown kid at most every refreshUnknownKID). stop ends the refreshing.
func newKeyStore(cfg Config, log *slog.Logger) (jwkset.Storage, context.CancelFunc, error) {
	var given jwkset.Storage
	if cfg.JWKSFile != "" {
		raw, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, nil, fmt.Errorf("reading auth.jwks_file: %w", err)
		}
		var set jwkset.JWKSMarshal
		if err := json.Unmarshal(raw, &set); err != nil {
			return nil, nil, fmt.Errorf("parsing auth.jwks_file %s: %w", cfg.JWKSFile, err)
		}
		if given, err = set.ToStorage(); err != nil {
			return nil, nil, fmt.Errorf("loading the keys of auth.jwks_file %s: %w", cfg.JWKSFile, err)
		}
	}
	if cfg.JWKSURL == "" {
		return given, func() {}, nil
	}
	ctx, stop := context.WithCancel(context.Background())
	masked := config.MaskURL(cfg.JWKSURL)
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Given:             given,
		HTTPTimeout:       10 * time.Second,
		RefreshInterval:   time.Hour,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(refreshUnknownKID), 1),
		// Bounds both the wait for the limiter and the refresh it allows: a
		// token with an unknown kid is refused at once while the limiter is
		// empty instead of holding the request.
		RateLimitWaitMax: 5 * time.Second,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				log.Warn("auth: fetching the JWKS failed", "url", masked, "err", err)
			}
		},
	})
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("auth.jwks_url: %w", err)
	}
	return kf.Storage(), stop, nil
}

// usable returns k's public key when its type (and its alg, if the JWK names
// one) fits alg.
func usable(k jwkset.JWK, alg string) (crypto.PublicKey, bool) {
	if a := k.Marshal().ALG.String(); a != "" && a != alg {
		return nil, false
	}
	var pub crypto.PublicKey = k.Key()
	if p, ok := pub.(interface{ Public() crypto.PublicKey }); ok {
		pub = p.Public()
	}
	switch key := pub.(type) {
	case *rsa.PublicKey:
		return key, alg[:2] == "RS" || alg[:2] == "PS"
	case *ecdsa.PublicKey:
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		return key, want != nil && key.Curve == want
	case ed25519.PublicKey:
		return key, alg == "EdDSA"
	}
	return nil, false
}
