package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// token mints an HS256 token with HERALD_AUTH_HMAC_SECRET — for
// development and scripts; production tokens come from the app's backend.
func token(_ context.Context, args []string, e env) error {
	var sub string
	var pub, subs list
	var ttl time.Duration
	fs := newFlags("token", "usage: HERALD_AUTH_HMAC_SECRET=... herald token [--sub S] [--publish P,...] [--subscribe P,...] [--ttl 1h]", e, nil)
	fs.StringVar(&sub, "sub", "herald-cli", "principal (the token's sub)")
	fs.Var(&pub, "publish", "pattern the token may publish to (comma separated or repeated)")
	fs.Var(&subs, "subscribe", "pattern the token may subscribe to and read history of (comma separated or repeated)")
	fs.DurationVar(&ttl, "ttl", time.Hour, "lifetime (exp = now + ttl)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fail(exitUsage, "unexpected argument %q", pos[0])
	}
	secret := e.getenv("HERALD_AUTH_HMAC_SECRET")
	switch {
	case secret == "":
		return fail(exitUsage, "HERALD_AUTH_HMAC_SECRET is not set (the api's and stream's auth.hmac_secret)")
	case sub == "":
		return fail(exitUsage, "--sub must not be empty (Herald refuses tokens without a sub)")
	case ttl <= 0:
		return fail(exitUsage, "--ttl must be positive")
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
		"herald": map[string][]string{"publish": pub.orEmpty(), "subscribe": subs.orEmpty()},
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return fail(exitFailure, "signing: %v", err)
	}
	fmt.Fprintln(e.stdout, signed)
	return nil
}

// list is a repeatable, comma-separated flag.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }

func (l *list) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func (l list) orEmpty() []string {
	if l == nil {
		return []string{}
	}
	return l
}
