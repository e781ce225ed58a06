package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/protobuf/proto"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/kit/auth/authtest"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/nats-io/nats.go"
)

const (
	hIssuer   = "https://app.example"
	hAudience = "herald"
	hOrigin   = "https://app.example"
)

// hClaims are the claims of a good token for sub: iss, aud, exp in an hour.
func hClaims(sub string, publish, subscribe []string) jwt.MapClaims {
	c := authtest.Claims(sub, publish, subscribe, time.Hour)
	c["iss"], c["aud"] = hIssuer, hAudience
	return c
}

func hs256(t *testing.T, c jwt.MapClaims) string {
	return authtest.Sign(t, jwt.SigningMethodHS256, []byte(authtest.Secret), "", c)
}

func mod(c jwt.MapClaims, f func(jwt.MapClaims)) jwt.MapClaims { f(c); return c }

// ownerReplica answers control requests for the connection "conn-alice"
// (opened by alice with subscribe grant chat.*) by the stream service's
// rule: another principal gets NOT_FOUND, an uncovered set FORBIDDEN.
func ownerReplica(t *testing.T, nc *nats.Conn) {
	sub, err := nc.Subscribe(channel.ControlSubject("conn-alice"), func(m *nats.Msg) {
		req := &heraldv1.ControlRequest{}
		_ = proto.Unmarshal(m.Data, req)
		reply := &heraldv1.ControlReply{Status: heraldv1.ControlReply_STATUS_OK, Channels: req.Channels}
		switch {
		case req.Principal != "alice" || req.Anonymous:
			reply = &heraldv1.ControlReply{Status: heraldv1.ControlReply_STATUS_NOT_FOUND}
		case !allCovered([]string{"chat.*"}, req.Channels):
			reply = &heraldv1.ControlReply{Status: heraldv1.ControlReply_STATUS_FORBIDDEN, Detail: "not covered"}
		}
		data, _ := proto.Marshal(reply)
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func allCovered(grants, set []string) bool {
	for _, p := range set {
		if !channel.CoveredBy(grants, p) {
			return false
		}
	}
	return true
}

// TestHardening: each row is an attack on the api and the answer it must
// get. Auth is configured as in production: an HMAC secret and a JWKS file,
// issuer and audience enforced, no anonymous rights except reading "public".
func TestHardening(t *testing.T) {
	k := authtest.NewKeys(t)
	var logs syncBuffer
	e := &env{t: t, dir: t.TempDir(), logw: &logs}
	e.ns = startNATS(t, e.dir, -1)
	e.startApp(func(c *config.Config) {
		c.Auth = config.Default().Auth
		c.Auth.HMACSecret = authtest.Secret
		c.Auth.JWKSFile = authtest.JWKSFile(t, authtest.JWK{KID: "rsa", ALG: "RS256", Key: &k.RSA.PublicKey})
		c.Auth.Issuer, c.Auth.Audience = hIssuer, hAudience
		c.Auth.AnonymousSubscribe = []string{"public"}
		c.Auth.AllowedOrigins = []string{hOrigin}
	})
	e.waitReady()
	ownerReplica(t, e.peer)

	chat := hs256(t, hClaims("alice", []string{"chat.*"}, []string{"chat.*"}))
	bob := hs256(t, hClaims("bob", []string{"chat.*"}, []string{"chat.*"}))
	good := hClaims("alice", []string{"chat.*"}, []string{"chat.*"})
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	cookie := func(tok string, origin string) []string {
		h := []string{"Cookie", "herald_token=" + tok}
		if origin != "" {
			h = append(h, "Origin", origin)
		}
		return h
	}
	pubRSA := authtest.JWKSJSON(t, authtest.JWK{KID: "rsa", Key: &k.RSA.PublicKey})
	const (
		post   = "/api/v1/channels/chat.lobby/events"
		js     = "application/json"
		ev     = `{"data":1}`
		secret = "s3cr3t-query-token"
	)
	tests := []struct {
		name, method, path, ct, body string
		hdr                          []string
		status                       int
		reason                       string
	}{
		{"no token publishes", "POST", post, js, ev, nil, 401, "no_token"},
		{"alg none", "POST", post, js, ev, bearer(authtest.None(t, good)), 401, "bad_alg"},
		{"HS256 signed with the RSA public key", "POST", post, js, ev, bearer(authtest.Sign(t, jwt.SigningMethodHS256, pubRSA, "rsa", good)), 401, "bad_signature"},
		{"RS256 token under an HMAC kid", "POST", post, js, ev, bearer(authtest.Sign(t, jwt.SigningMethodRS384, k.RSA, "rsa", good)), 401, "bad_alg"},
		{"unknown kid", "POST", post, js, ev, bearer(authtest.Sign(t, jwt.SigningMethodRS256, k.Unknown, "other", good)), 401, "unknown_kid"},
		{"bad signature", "POST", post, js, ev, bearer(authtest.Sign(t, jwt.SigningMethodHS256, []byte("not-the-secret-not-the-secret-xx"), "", good)), 401, "bad_signature"},
		{"good RS256", "POST", post, js, ev, bearer(authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "rsa", good)), 201, ""},
		{"wrong iss", "POST", post, js, ev, bearer(hs256(t, mod(hClaims("a", []string{">"}, nil), func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }))), 401, "bad_issuer"},
		{"wrong aud", "POST", post, js, ev, bearer(hs256(t, mod(hClaims("a", []string{">"}, nil), func(c jwt.MapClaims) { c["aud"] = "other" }))), 401, "bad_audience"},
		{"expired", "POST", post, js, ev, bearer(hs256(t, mod(hClaims("a", []string{">"}, nil), func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))), 401, "expired"},
		{"nbf in the future", "POST", post, js, ev, bearer(hs256(t, mod(hClaims("a", []string{">"}, nil), func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }))), 401, "not_yet_valid"},
		{"no exp", "POST", post, js, ev, bearer(hs256(t, mod(hClaims("a", []string{">"}, nil), func(c jwt.MapClaims) { delete(c, "exp") }))), 401, "no_exp"},
		{"no sub", "POST", post, js, ev, bearer(hs256(t, mod(hClaims("a", []string{">"}, nil), func(c jwt.MapClaims) { delete(c, "sub") }))), 401, "no_sub"},
		{"malformed", "POST", post, js, ev, bearer("not.a.jwt"), 401, "malformed"},
		{"basic auth instead of bearer", "POST", post, js, ev, []string{"Authorization", "Basic YTpi"}, 401, "malformed"},
		{"bad cookie does not fall back to anonymous", "GET", "/api/v1/channels/public/events", "", "", cookie("garbage", ""), 401, "malformed"},
		{"publish outside the grant", "POST", "/api/v1/channels/admin.x/events", js, ev, bearer(chat), 403, "forbidden"},
		{"publish one level deeper", "POST", "/api/v1/channels/chat.a.b/events", js, ev, bearer(chat), 403, "forbidden"},
		{"batch with one forbidden event", "POST", "/api/v1/events", js, `{"events":[{"channel":"chat.a","data":1},{"channel":"admin","data":2}]}`, bearer(chat), 403, "forbidden"},
		{"anonymous batch", "POST", "/api/v1/events", js, `{"events":[{"channel":"public","data":1}]}`, nil, 401, "no_token"},
		{"history of >", "GET", "/api/v1/channels/%3E/events", "", "", bearer(chat), 403, "forbidden"},
		{"history of chat.>", "GET", "/api/v1/channels/chat.%3E/events", "", "", bearer(chat), 403, "forbidden"},
		{"history of chat.*.x", "GET", "/api/v1/channels/chat.*.x/events", "", "", bearer(chat), 403, "forbidden"},
		{"history of chat.*", "GET", "/api/v1/channels/chat.*/events", "", "", bearer(chat), 200, ""},
		{"anonymous history outside its grant", "GET", "/api/v1/channels/chat.lobby/events", "", "", nil, 401, "no_token"},
		{"anonymous history of public", "GET", "/api/v1/channels/public/events", "", "", nil, 200, ""},
		{"cookie POST from a foreign origin", "POST", post, js, ev, cookie(chat, "https://evil.example"), 403, "origin"},
		{"cookie POST without Origin", "POST", post, js, ev, cookie(chat, ""), 403, "origin"},
		{"cookie text/plain POST cross-site", "POST", post, "text/plain", "hi", cookie(chat, "https://evil.example"), 403, "origin"},
		{"cookie batch from Origin null", "POST", "/api/v1/events", js, `{"events":[{"channel":"chat.a","data":1}]}`, cookie(chat, "null"), 403, "origin"},
		{"cookie control from a foreign origin", "PUT", "/api/v1/connections/conn-alice/channels", js, `{"channels":["chat.x"]}`, cookie(chat, "https://evil.example"), 403, "origin"},
		{"cookie POST from an allowed origin", "POST", post, js, ev, cookie(chat, hOrigin), 201, ""},
		{"cookie POST from the same origin", "POST", post, "text/plain", "hi", cookie(chat, "http://127.0.0.1"), 201, ""},
		{"bearer POST with a foreign Origin", "POST", post, js, ev, append(bearer(chat), "Origin", "https://evil.example"), 201, ""},
		{"the api takes no query token", "POST", post + "?access_token=" + secret, js, ev, nil, 401, "no_token"},
		{"control from another principal", "PUT", "/api/v1/connections/conn-alice/channels", js, `{"channels":["chat.x"]}`, bearer(bob), 404, ""},
		{"control from anonymous", "GET", "/api/v1/connections/conn-alice/channels", "", "", nil, 404, ""},
		{"control to channels outside the connection's rights", "PUT", "/api/v1/connections/conn-alice/channels", js, `{"channels":["admin.>"]}`, bearer(chat), 403, "forbidden"},
		{"control widening to chat.>", "POST", "/api/v1/connections/conn-alice/channels", js, `{"channels":["chat.>"]}`, bearer(chat), 403, "forbidden"},
		{"control by the owner", "PUT", "/api/v1/connections/conn-alice/channels", js, `{"channels":["chat.x"]}`, bearer(chat), 200, ""},
		{"control with a bad token", "GET", "/api/v1/connections/conn-alice/channels", "", "", bearer("x.y.z"), 401, "malformed"},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d rows", len(tests))
	}
	before := e.streamMsgs()
	stored := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.ct, tt.body, tt.hdr...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if r.status == 201 {
				stored++
			}
			if r.status < 400 {
				return
			}
			var p struct {
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Reason != tt.reason {
				t.Errorf("reason %q, want %q (%s)", p.Reason, tt.reason, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if wa := r.header.Get("WWW-Authenticate"); (r.status == 401) != strings.HasPrefix(wa, "Bearer") {
				t.Errorf("WWW-Authenticate %q on %d", wa, r.status)
			}
		})
	}
	if got := e.streamMsgs() - before; got != uint64(stored) {
		t.Errorf("the stream gained %d events, want %d (refused requests store nothing)", got, stored)
	}
	// A probe of another principal's connection answers exactly what an
	// unknown id answers.
	other := e.do("GET", "/api/v1/connections/conn-alice/channels", "", "", bearer(bob)...)
	unknown := e.do("GET", "/api/v1/connections/nobody/channels", "", "", bearer(bob)...)
	if other.status != unknown.status || other.body != unknown.body {
		t.Errorf("another's connection: %d %s; unknown id: %d %s", other.status, other.body, unknown.status, unknown.body)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the query token is in the api's log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "conn-alice") || !strings.Contains(logs.String(), logging.ConnHash("conn-alice")) {
		t.Errorf("connection ids must be logged as a hash only:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"status":401`) {
		t.Errorf("the log does not hold the requests:\n%s", logs.String())
	}
}

// TestIdempotencyPerPrincipal: the same Idempotency-Key from two principals
// makes two events; from the same principal, one.
func TestIdempotencyPerPrincipal(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Auth.AnonymousPublish = nil })
	alice := authtest.Token(t, "alice", []string{">"}, nil)
	bob := authtest.Token(t, "bob", []string{">"}, nil)
	post := func(tok string) resp {
		return e.do("POST", "/api/v1/channels/news/events", "application/json", `{"data":1}`, "Authorization", "Bearer "+tok, "Idempotency-Key", "k")
	}
	a1, b1, a2 := post(alice), post(bob), post(alice)
	if a1.status != 201 || b1.status != 201 || a2.status != 200 || idOf(t, a1.body) == idOf(t, b1.body) || idOf(t, a2.body) != idOf(t, a1.body) {
		t.Fatalf("alice %d %s, bob %d %s, alice again %d %s", a1.status, a1.body, b1.status, b1.body, a2.status, a2.body)
	}
	// What JetStream de-duplicates on is the hash, never the raw key.
	m, err := e.stream().GetMsg(t.Context(), idOf(t, a1.body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("alice\nk"))
	if id := m.Header.Get("Nats-Msg-Id"); id != hex.EncodeToString(sum[:]) {
		t.Errorf("Nats-Msg-Id %q, want hex(sha256(principal+\"\\n\"+key))", id)
	}
}

func (e *env) streamMsgs() uint64 {
	info, err := e.stream().Info(e.t.(*testing.T).Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}
