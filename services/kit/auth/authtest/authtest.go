// Package authtest mints tokens and serves JWKS for tests of both services:
// real JWTs signed by golang-jwt, real keys, a real (httptest) JWKS server
// whose key set can be rotated while a test runs.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// Secret is an HMAC secret for tests (auth.hmac_secret).
const Secret = "authtest-hmac-secret-0123456789abcdef"

// Claims returns the claims of a token for sub granting publish and
// subscribe, expiring after ttl (no exp when ttl is 0).
func Claims(sub string, publish, subscribe []string, ttl time.Duration) jwt.MapClaims {
	c := jwt.MapClaims{"iat": time.Now().Unix(), "herald": map[string]any{"publish": nonNil(publish), "subscribe": nonNil(subscribe)}}
	if sub != "" {
		c["sub"] = sub
	}
	if ttl != 0 {
		c["exp"] = time.Now().Add(ttl).Unix()
	}
	return c
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Token is an HS256 token signed with Secret, valid for an hour.
func Token(t testing.TB, sub string, publish, subscribe []string) string {
	t.Helper()
	return Sign(t, jwt.SigningMethodHS256, []byte(Secret), "", Claims(sub, publish, subscribe, time.Hour))
}

// HS256 signs claims with Secret.
func HS256(t testing.TB, claims jwt.Claims) string {
	t.Helper()
	return Sign(t, jwt.SigningMethodHS256, []byte(Secret), "", claims)
}

// Sign signs claims with key by method, with kid in the header when not "".
func Sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing test token: %v", err)
	}
	return s
}

// None is an unsigned token (alg "none"), which must always be refused.
func None(t testing.TB, claims jwt.Claims) string {
	t.Helper()
	return Sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims)
}

// Keys are one key pair of each asymmetric type.
type Keys struct {
	RSA     *rsa.PrivateKey
	EC      *ecdsa.PrivateKey
	Ed      ed25519.PrivateKey
	RSAAlt  *rsa.PrivateKey // a second RSA key, for rotation
	Unknown *rsa.PrivateKey // in no key set
}

var (
	keysOnce sync.Once
	keys     Keys
)

// NewKeys returns the process's test keys (generated once: RSA is slow).
func NewKeys(t testing.TB) Keys {
	t.Helper()
	keysOnce.Do(func() {
		keys.RSA = must(rsa.GenerateKey(rand.Reader, 2048))
		keys.RSAAlt = must(rsa.GenerateKey(rand.Reader, 2048))
		keys.Unknown = must(rsa.GenerateKey(rand.Reader, 2048))
		keys.EC = must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		_, keys.Ed, _ = ed25519.GenerateKey(rand.Reader)
	})
	return keys
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// JWK is one public key of a key set.
type JWK struct {
	KID string
	ALG string // "" = the JWK names no alg
	Key crypto.PublicKey
}

// JWKSJSON encodes the public keys as a JWKS document.
func JWKSJSON(t testing.TB, ks ...JWK) []byte {
	t.Helper()
	var set jwkset.JWKSMarshal
	for _, k := range ks {
		j, err := jwkset.NewJWKFromKey(k.Key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.KID, ALG: jwkset.ALG(k.ALG), USE: jwkset.UseSig}})
		if err != nil {
			t.Fatalf("jwk %s: %v", k.KID, err)
		}
		set.Keys = append(set.Keys, j.Marshal())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// JWKSFile writes the key set to a file in t.TempDir() and returns its path.
func JWKSFile(t testing.TB, ks ...JWK) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(p, JWKSJSON(t, ks...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// JWKSServer serves a key set that a test may change while it runs.
type JWKSServer struct {
	URL     string
	Fetches atomic.Int64 // GETs served
	mu      sync.Mutex
	body    []byte
}

// NewJWKSServer serves ks at its URL until the test ends.
func NewJWKSServer(t testing.TB, ks ...JWK) *JWKSServer {
	t.Helper()
	s := &JWKSServer{}
	s.Set(t, ks...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.Fetches.Add(1)
		s.mu.Lock()
		b := s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/.well-known/jwks.json"
	return s
}

// Set replaces the served key set (a rotation).
func (s *JWKSServer) Set(t testing.TB, ks ...JWK) {
	t.Helper()
	b := JWKSJSON(t, ks...)
	s.mu.Lock()
	s.body = b
	s.mu.Unlock()
}
