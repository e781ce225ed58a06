package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/kit/auth/authtest"
	"github.com/herald-push/herald/services/kit/logging"
	"github.com/herald-push/herald/services/kit/testkit/ssetest"
	"github.com/herald-push/herald/services/stream/config"
	"github.com/herald-push/herald/services/stream/internal/streamtest"
)

const (
	hIssuer   = "https://app.example"
	hAudience = "herald"
	hSecret   = "s3cr3t-query-token-value"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func hClaims(sub string, subscribe ...string) jwt.MapClaims {
	c := authtest.Claims(sub, nil, subscribe, time.Hour)
	c["iss"], c["aud"] = hIssuer, hAudience
	return c
}

func hs256(t *testing.T, c jwt.MapClaims) string {
	return authtest.Sign(t, jwt.SigningMethodHS256, []byte(authtest.Secret), "", c)
}

func with(c jwt.MapClaims, f func(jwt.MapClaims)) jwt.MapClaims { f(c); return c }

// startHardened runs the stream with production-like auth: an HMAC secret, a
// JWKS file, issuer and audience, anonymous rights only on "public"; it logs
// at debug level to the returned buffer.
func startHardened(t *testing.T) (*env, *testApp, *lockedBuffer) {
	k := authtest.NewKeys(t)
	e := newEnv(t, jetstream.StreamConfig{})
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := startAppLog(t, e.nats.URL(), true, log, func(c *config.Config) {
		c.Auth = config.Default().Auth
		c.Auth.HMACSecret = authtest.Secret
		c.Auth.JWKSFile = authtest.JWKSFile(t, authtest.JWK{KID: "rsa", ALG: "RS256", Key: &k.RSA.PublicKey})
		c.Auth.Issuer, c.Auth.Audience = hIssuer, hAudience
		c.Auth.AnonymousSubscribe = []string{"public"}
	})
	return e, a, logs
}

// TestHardening: each row is an attack on /stream and the answer it must
// get, before any stream starts.
func TestHardening(t *testing.T) {
	k := authtest.NewKeys(t)
	_, a, logs := startHardened(t)
	chat := hs256(t, hClaims("alice", "chat.*"))
	good := hClaims("alice", "chat.*")
	pubRSA := authtest.JWKSJSON(t, authtest.JWK{KID: "rsa", Key: &k.RSA.PublicKey})
	h := func(kv ...string) http.Header {
		hd := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			hd.Add(kv[i], kv[i+1])
		}
		return hd
	}
	bearer := func(tok string) http.Header { return h("Authorization", "Bearer "+tok) }
	cookie := func(tok string) http.Header { return h("Cookie", "herald_token="+tok) }
	claims := func(f func(jwt.MapClaims)) string { return hs256(t, with(hClaims("a", ">"), f)) }

	tests := []struct {
		name     string
		channels []string
		token    string // ?access_token=
		hdr      http.Header
		status   int
		reason   string
	}{
		{"no token", []string{"chat.lobby"}, "", nil, 401, "no_token"},
		{"anonymous on its grant", []string{"public"}, "", nil, 200, ""},
		{"anonymous asks for everything", []string{">"}, "", nil, 401, "no_token"},
		{"alg none", []string{"chat.lobby"}, authtest.None(t, good), nil, 401, "bad_alg"},
		{"HS256 signed with the RSA public key", []string{"chat.lobby"}, authtest.Sign(t, jwt.SigningMethodHS256, pubRSA, "rsa", good), nil, 401, "bad_signature"},
		{"RS384 on an RS256 key", []string{"chat.lobby"}, authtest.Sign(t, jwt.SigningMethodRS384, k.RSA, "rsa", good), nil, 401, "bad_alg"},
		{"unknown kid", []string{"chat.lobby"}, authtest.Sign(t, jwt.SigningMethodRS256, k.Unknown, "other", good), nil, 401, "unknown_kid"},
		{"bad signature", []string{"chat.lobby"}, authtest.Sign(t, jwt.SigningMethodHS256, []byte("not-the-secret-not-the-secret-xx"), "", good), nil, 401, "bad_signature"},
		{"wrong iss", []string{"chat.lobby"}, claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), nil, 401, "bad_issuer"},
		{"wrong aud", []string{"chat.lobby"}, claims(func(c jwt.MapClaims) { c["aud"] = "other" }), nil, 401, "bad_audience"},
		{"expired", []string{"chat.lobby"}, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), nil, 401, "expired"},
		{"nbf in the future", []string{"chat.lobby"}, claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), nil, 401, "not_yet_valid"},
		{"no exp", []string{"chat.lobby"}, claims(func(c jwt.MapClaims) { delete(c, "exp") }), nil, 401, "no_exp"},
		{"no sub", []string{"chat.lobby"}, claims(func(c jwt.MapClaims) { delete(c, "sub") }), nil, 401, "no_sub"},
		{"no herald claim", []string{"chat.lobby"}, claims(func(c jwt.MapClaims) { delete(c, "herald") }), nil, 403, "forbidden"},
		{"malformed query token", []string{"chat.lobby"}, "a.b", nil, 401, "malformed"},
		{"malformed header token", []string{"chat.lobby"}, "", bearer("nope"), 401, "malformed"},
		{"basic auth", []string{"chat.lobby"}, "", h("Authorization", "Basic YTpi"), 401, "malformed"},
		{"bad cookie does not fall back to anonymous", []string{"public"}, "", cookie("garbage"), 401, "malformed"},
		{"bad header beats a good query token", []string{"chat.lobby"}, chat, bearer("garbage"), 401, "malformed"},
		{"chat.* asks for >", []string{">"}, chat, nil, 403, "forbidden"},
		{"chat.* asks for chat.>", []string{"chat.>"}, chat, nil, 403, "forbidden"},
		{"chat.* asks for chat.*.x", []string{"chat.*.x"}, chat, nil, 403, "forbidden"},
		{"chat.* asks for chat.a.b", []string{"chat.a.b"}, chat, nil, 403, "forbidden"},
		{"one uncovered channel among covered ones", []string{"chat.a", "admin", "chat.b"}, chat, nil, 403, "forbidden"},
		{"token rights replace anonymous ones", []string{"public"}, chat, nil, 403, "forbidden"},
		{"chat.* asks for chat.* by query", []string{"chat.*"}, chat, nil, 200, ""},
		{"chat.lobby by header", []string{"chat.lobby"}, "", bearer(chat), 200, ""},
		{"chat.lobby by cookie", []string{"chat.lobby"}, "", cookie(chat), 200, ""},
		{"good header beats a bad query token", []string{"chat.lobby"}, "garbage", bearer(chat), 200, ""},
		{"RS256 from the JWKS", []string{"chat.x"}, authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "rsa", good), nil, 200, ""},
		{"a valid token with a bad channel", []string{"a..b"}, chat, nil, 400, ""},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d rows", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := a.streamURL(tt.channels...)
			if tt.token != "" {
				u += "&access_token=" + url.QueryEscape(tt.token)
			}
			if tt.status == 200 {
				c := ssetest.Dial(t, u, tt.hdr)
				defer c.Close()
				if c.Resp.StatusCode != 200 {
					t.Fatalf("status %d, want 200", c.Resp.StatusCode)
				}
				if it, ok := c.Next(5*time.Second, "event"); !ok || it.Type != "herald.connected" {
					t.Fatalf("first event %+v %v", it, ok)
				}
				return
			}
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			for k, vs := range tt.hdr {
				req.Header[k] = vs
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			var p struct {
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(body, &p); tt.reason != "" && (err != nil || p.Reason != tt.reason) {
				t.Errorf("reason %q, want %q (%s)", p.Reason, tt.reason, body)
			}
			if wa := res.Header.Get("WWW-Authenticate"); (tt.status == 401) != strings.HasPrefix(wa, "Bearer") {
				t.Errorf("WWW-Authenticate %q on %d", wa, res.StatusCode)
			}
		})
	}

	// The query token never reaches a log line, not even at debug level.
	c := ssetest.Dial(t, a.streamURL("chat.lobby")+"&access_token="+hSecret, nil)
	c.Close()
	c, _ = a.open(t, nil, "public")
	c.Close()
	if out := logs.String(); strings.Contains(out, hSecret) || strings.Contains(out, chat) || strings.Contains(out, "access_token") {
		t.Errorf("a token is in the stream's log:\n%s", out)
	}
}

// ctl sends a control request as the api would for caller.
func ctl(t *testing.T, nc *nats.Conn, id, principal string, op heraldv1.ControlRequest_Op, chans ...string) *heraldv1.ControlReply {
	t.Helper()
	data, _ := proto.Marshal(&heraldv1.ControlRequest{Op: op, Channels: chans, Principal: principal, Anonymous: principal == ""})
	msg, err := nc.Request(channel.ControlSubject(id), data, 5*time.Second)
	if err != nil {
		t.Fatalf("control request: %v", err)
	}
	var r heraldv1.ControlReply
	if err := proto.Unmarshal(msg.Data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestHardeningControl: the real registry refuses another principal's
// changes as if the connection did not exist, and any set its own grants
// do not cover; connection ids are logged only as a short hash.
func TestHardeningControl(t *testing.T) {
	e, a, logs := startHardened(t)
	nc, _ := streamtest.Connect(t, e.nats.URL())
	alice := hs256(t, hClaims("alice", "chat.*"))
	ca, aliceID := a.open(t, http.Header{"Authorization": {"Bearer " + alice}}, "chat.lobby")
	defer ca.Close()
	cn, anonID := a.open(t, nil, "public")
	defer cn.Close()

	const (
		ok        = heraldv1.ControlReply_STATUS_OK
		notFound  = heraldv1.ControlReply_STATUS_NOT_FOUND
		forbidden = heraldv1.ControlReply_STATUS_FORBIDDEN
		get       = heraldv1.ControlRequest_OP_GET
		replace   = heraldv1.ControlRequest_OP_REPLACE
		add       = heraldv1.ControlRequest_OP_ADD
	)
	tests := []struct {
		name, id, principal string
		op                  heraldv1.ControlRequest_Op
		chans               []string
		status              heraldv1.ControlReply_Status
	}{
		{"another principal reads", aliceID, "bob", get, nil, notFound},
		{"another principal replaces", aliceID, "bob", replace, []string{"chat.x"}, notFound},
		{"anonymous on a token's connection", aliceID, "", replace, []string{"public"}, notFound},
		{"a token on an anonymous connection", anonID, "alice", get, nil, notFound},
		{"owner: outside its grant", aliceID, "alice", replace, []string{"admin.x"}, forbidden},
		{"owner: widening to chat.>", aliceID, "alice", add, []string{"chat.>"}, forbidden},
		{"owner: widening to >", aliceID, "alice", replace, []string{">"}, forbidden},
		{"anonymous: beyond the anonymous grant", anonID, "", add, []string{"chat.x"}, forbidden},
		{"owner: within its grant", aliceID, "alice", replace, []string{"chat.x", "chat.*"}, ok},
		{"anonymous: own connection", anonID, "", get, nil, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ctl(t, nc, tt.id, tt.principal, tt.op, tt.chans...)
			if r.GetStatus() != tt.status {
				t.Fatalf("status %v, want %v", r.GetStatus(), tt.status)
			}
			if tt.status == notFound && (len(r.GetChannels()) > 0 || r.GetDetail() != "") {
				t.Errorf("NOT_FOUND tells something: %v", r)
			}
		})
	}
	if out := logs.String(); strings.Contains(out, aliceID) || strings.Contains(out, anonID) || !strings.Contains(out, logging.ConnHash(aliceID)) {
		t.Errorf("connection ids must be logged as a hash only:\n%s", out)
	}
}

// TestTokenExpiry: a stream ends at its token's exp with exactly the
// herald.expired block and then the connection closes.
func TestTokenExpiry(t *testing.T) {
	e, a, _ := startHardened(t)
	c := hClaims("alice", "chat.*")
	c["exp"] = time.Now().Add(2 * time.Second).Unix()
	tok := hs256(t, c)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, a.streamURL("chat.lobby")+"&access_token="+tok, nil)
	client := &http.Client{Timeout: 20 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	streamtest.Publish(t, e.js, "chat.lobby", "", `"before exp"`)
	body, err := io.ReadAll(res.Body) // ends when the server closes
	if err != nil {
		t.Fatalf("reading until close: %v", err)
	}
	want := "event: herald.expired\nretry: 3000\ndata: {\"reason\":\"expired\"}\n\n"
	if !strings.HasSuffix(string(body), want) || strings.Count(string(body), "herald.expired") != 1 {
		t.Fatalf("stream did not end with the expired block:\n%q", body)
	}
	if !strings.Contains(string(body), "before exp") {
		t.Errorf("the event published before exp is missing:\n%q", body)
	}
}
