// Package auth is how both Herald services decide who may do what: the
// auth.* settings (declared once here), a JWT Verifier (HMAC secret and/or
// JWKS keys), the Rights a token or an anonymous caller holds (checked with
// channel.Covers), where a request carries its token, the CSRF rule for
// cookie-authenticated writes, and the 401/403 problem bodies with their
// short reason codes. Without a key and without anonymous rights nothing can
// be granted: Herald fails closed.
package auth

import (
	"fmt"
	"time"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/services/kit/config"
)

// Config is the auth.* settings of a service.
type Config struct {
	HMACSecret string // HS256/384/512 key; empty = no HMAC tokens
	JWKSURL    string // JWKS fetched, cached and refreshed on an unknown kid
	JWKSFile   string // JWKS read from a file at start
	Issuer     string // required iss when set
	Audience   string // required aud when set
	RequireExp bool
	Leeway     time.Duration // clock skew allowed on exp, nbf and iat
	CookieName string

	// Rights of a request without a token.
	AnonymousPublish   []string
	AnonymousSubscribe []string

	// AllowedOrigins (api only) may send cookie-authenticated writes, besides
	// the api's own origin.
	AllowedOrigins []string
}

// Defaults of the auth.* keys.
const (
	DefaultCookieName = "herald_token"
	DefaultLeeway     = 30 * time.Second
)

// Keys are the auth.* settings both services have.
func Keys() []config.Key {
	return []config.Key{
		{Name: "auth.hmac_secret", Default: "", Secret: true, Usage: "HMAC key for HS256/HS384/HS512 tokens; empty = HMAC tokens are refused"},
		{Name: "auth.jwks_url", Default: "", Usage: "URL of a JWKS with the public keys of RS/PS/ES/EdDSA tokens; fetched at start, refreshed hourly and on an unknown kid (at most every 30s)"},
		{Name: "auth.jwks_file", Default: "", Usage: "path of a JWKS file with public keys, read at start (may be combined with auth.jwks_url)"},
		{Name: "auth.issuer", Default: "", Usage: "when set, tokens must carry exactly this iss"},
		{Name: "auth.audience", Default: "", Usage: "when set, tokens must list this aud"},
		{Name: "auth.require_exp", Default: true, Usage: "refuse tokens without exp"},
		{Name: "auth.leeway", Default: DefaultLeeway, Usage: "clock skew allowed when checking exp, nbf and iat"},
		{Name: "auth.cookie_name", Default: DefaultCookieName, Usage: "cookie holding the token of a browser (HttpOnly, set by the app)"},
		{Name: "auth.anonymous.publish", Default: "", Usage: "channel patterns anyone may publish to without a token, comma or space separated; empty = none"},
		{Name: "auth.anonymous.subscribe", Default: "", Usage: "channel patterns anyone may subscribe to (and read the history of) without a token; empty = none"},
	}
}

// APIKeys are Keys plus the settings only the api has.
func APIKeys() []config.Key {
	return append(Keys(), config.Key{Name: "auth.allowed_origins", Default: "",
		Usage: "origins (scheme://host[:port]) besides the api's own allowed to send cookie-authenticated POST/PUT/DELETE, comma or space separated"})
}

// Read reads the keys of Keys from r; errors are collected by r.
func Read(r *config.Reader) Config {
	c := Config{
		HMACSecret:         r.Optional("auth.hmac_secret"),
		JWKSURL:            r.Optional("auth.jwks_url"),
		JWKSFile:           r.Optional("auth.jwks_file"),
		Issuer:             r.Optional("auth.issuer"),
		Audience:           r.Optional("auth.audience"),
		RequireExp:         r.Bool("auth.require_exp"),
		Leeway:             r.Duration("auth.leeway", 0, time.Hour),
		CookieName:         r.String("auth.cookie_name"),
		AnonymousPublish:   patterns(r, "auth.anonymous.publish"),
		AnonymousSubscribe: patterns(r, "auth.anonymous.subscribe"),
	}
	for i := 0; i < len(c.CookieName); i++ {
		b := c.CookieName[i]
		ok := b > 0x20 && b < 0x7f && !isSeparator(b)
		r.Check(ok, "auth.cookie_name", "%q is not a cookie name", c.CookieName)
		if !ok {
			break
		}
	}
	return c
}

// ReadAPI reads the keys of APIKeys.
func ReadAPI(r *config.Reader) Config {
	c := Read(r)
	c.AllowedOrigins = r.List("auth.allowed_origins")
	for _, o := range c.AllowedOrigins {
		r.Check(validOrigin(o), "auth.allowed_origins", "%q is not an origin like https://app.example.com", o)
	}
	return c
}

// Default is the configuration with every default: nothing can be granted.
func Default() Config {
	return Config{RequireExp: true, Leeway: DefaultLeeway, CookieName: DefaultCookieName}
}

func patterns(r *config.Reader, key string) []string {
	ps := r.List(key)
	for _, p := range ps {
		if err := channel.ValidatePattern(p); err != nil {
			r.Check(false, key, "%q: %v", p, err)
		}
	}
	return ps
}

func isSeparator(b byte) bool {
	for _, s := range []byte(`()<>@,;:\"/[]?={} `) {
		if b == s {
			return true
		}
	}
	return false
}

// Describe summarizes what can be granted, for the start-up log line.
func (c Config) Describe() string {
	keys := ""
	if c.HMACSecret != "" {
		keys += " hmac_secret"
	}
	if c.JWKSURL != "" {
		keys += " jwks_url"
	}
	if c.JWKSFile != "" {
		keys += " jwks_file"
	}
	if keys == "" {
		keys = " none"
	}
	return fmt.Sprintf("token keys:%s; anonymous publish %v, subscribe %v", keys, c.AnonymousPublish, c.AnonymousSubscribe)
}
