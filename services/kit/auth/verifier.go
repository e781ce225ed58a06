package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-push/herald/proto/channel"
)

// Verifier checks tokens with golang-jwt: the signature (against the HMAC
// secret or a JWKS key, the alg matching the key's type), then exp, nbf,
// iat, iss and aud, then Herald's own rules (a sub, valid patterns).
type Verifier struct {
	cfg    Config
	hmac   []byte
	keys   jwkset.Storage // nil without auth.jwks_url and auth.jwks_file
	parser *jwt.Parser
	stop   context.CancelFunc
}

// heraldClaims is a token's payload.
type heraldClaims struct {
	jwt.RegisteredClaims
	Herald *scope `json:"herald,omitempty"`
}

// scope is the "herald" claim: the patterns the token grants.
type scope struct {
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
}

// New builds the verifier of cfg; with auth.jwks_url it starts fetching the
// JWKS in the background (a failing first fetch is logged, not fatal: the
// IdP may start after Herald). Close stops that.
func New(cfg Config, log *slog.Logger) (*Verifier, error) {
	opts := []jwt.ParserOption{jwt.WithLeeway(cfg.Leeway), jwt.WithIssuedAt()}
	if cfg.RequireExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &Verifier{cfg: cfg, parser: jwt.NewParser(opts...), stop: func() {}}
	if cfg.HMACSecret != "" {
		v.hmac = []byte(cfg.HMACSecret)
		if len(v.hmac) < 32 {
			log.Warn("auth.hmac_secret is shorter than 32 bytes; HS256 tokens signed with it can be brute-forced")
		}
	}
	keys, stop, err := newKeyStore(cfg, log)
	if err != nil {
		return nil, err
	}
	v.keys, v.stop = keys, stop
	if v.hmac == nil && v.keys == nil && len(cfg.AnonymousPublish) == 0 && len(cfg.AnonymousSubscribe) == 0 {
		log.Warn("auth: every request will be refused: no token key and no anonymous rights; set auth.hmac_secret, auth.jwks_url/auth.jwks_file or auth.anonymous.*")
	} else {
		log.Info("auth", "rights", cfg.Describe())
	}
	return v, nil
}

// Close stops refreshing the JWKS.
func (v *Verifier) Close() { v.stop() }

// Config is what the verifier was built from.
func (v *Verifier) Config() Config { return v.cfg }

// Anonymous is the rights of a request without a token.
func (v *Verifier) Anonymous() Rights {
	return Rights{Anonymous: true, Publish: v.cfg.AnonymousPublish, Subscribe: v.cfg.AnonymousSubscribe}
}

// Sentinels of the key function, mapped to reasons.
var (
	errBadAlg     = errors.New("alg not accepted for the key")
	errUnknownKid = errors.New("no key with this kid")
)

// Verify checks token and returns its rights, or an *Error (401).
func (v *Verifier) Verify(ctx context.Context, token string) (Rights, error) {
	if len(token) > maxTokenBytes {
		return Rights{}, &Error{ReasonMalformed}
	}
	var c heraldClaims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) { return v.key(ctx, t) })
	if err != nil {
		return Rights{}, &Error{v.reason(err, &c)}
	}
	if c.Subject == "" {
		return Rights{}, &Error{ReasonNoSub}
	}
	r := Rights{Principal: c.Subject}
	if c.Herald != nil {
		r.Publish, r.Subscribe = c.Herald.Publish, c.Herald.Subscribe
	}
	for _, p := range slices.Concat(r.Publish, r.Subscribe) {
		if channel.ValidatePattern(p) != nil {
			return Rights{}, &Error{ReasonMalformed}
		}
	}
	if c.ExpiresAt != nil {
		r.Expires = c.ExpiresAt.Time
	}
	return r, nil
}

// reason maps a golang-jwt error to one reason. Signature and key problems
// come first (claims of an unverified token are not looked at); among claim
// problems a fixed order picks one.
func (v *Verifier) reason(err error, c *heraldClaims) string {
	switch {
	case errors.Is(err, errBadAlg):
		return ReasonBadAlg
	case errors.Is(err, errUnknownKid):
		return ReasonUnknownKid
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ReasonMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ReasonBadAlg // an alg golang-jwt does not know
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ReasonBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && c.ExpiresAt == nil && v.cfg.RequireExp:
		return ReasonNoExp
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && v.cfg.Issuer != "" && c.Issuer == "":
		return ReasonBadIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience), errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && v.cfg.Audience != "":
		return ReasonBadAudience
	}
	return ReasonMalformed
}

// Algorithms by key family. HMAC algs take only auth.hmac_secret and the
// others only JWKS keys of their own type, so a public RSA key can never
// be used as an HMAC secret (the classic RS/HS confusion).
var (
	hmacAlgs = []string{"HS256", "HS384", "HS512"}
	asymAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// key is the jwt.Keyfunc: it picks the key for the token's alg and kid.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	switch {
	case slices.Contains(hmacAlgs, alg):
		if v.hmac == nil {
			return nil, fmt.Errorf("%w: no auth.hmac_secret", errBadAlg)
		}
		return v.hmac, nil
	case slices.Contains(asymAlgs, alg):
		if v.keys == nil {
			return nil, fmt.Errorf("%w: no JWKS", errBadAlg)
		}
		return v.jwksKey(ctx, t, alg)
	}
	return nil, fmt.Errorf("%w: %q", errBadAlg, alg) // "none" included
}

// jwksKey reads the key named by kid (the store refreshes a remote JWKS on
// a miss, rate limited), or, without a kid, every key fit for alg.
func (v *Verifier) jwksKey(ctx context.Context, t *jwt.Token, alg string) (any, error) {
	kid, hasKid := t.Header["kid"].(string)
	if !hasKid {
		if _, present := t.Header["kid"]; present {
			return nil, fmt.Errorf("%w: kid is not a string", errUnknownKid)
		}
		all, err := v.keys.KeyReadAll(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUnknownKid, err)
		}
		var set jwt.VerificationKeySet
		for _, k := range all {
			if pub, ok := usable(k, alg); ok {
				set.Keys = append(set.Keys, pub)
			}
		}
		if len(set.Keys) == 0 {
			return nil, fmt.Errorf("%w: no key for %s", errUnknownKid, alg)
		}
		return set, nil
	}
	k, err := v.keys.KeyRead(ctx, kid)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnknownKid, err)
	}
	if use := k.Marshal().USE; use != "" && use != jwkset.UseSig {
		return nil, fmt.Errorf("%w: key %q is not a signing key", errUnknownKid, kid)
	}
	pub, ok := usable(k, alg)
	if !ok {
		return nil, fmt.Errorf("%w: key %q does not take %s", errBadAlg, kid, alg)
	}
	return pub, nil
}

// refreshUnknownKID bounds how often tokens with unknown kids (anyone can
// send those) make the service fetch the JWKS again.
const refreshUnknownKID = 30 * time.Second
