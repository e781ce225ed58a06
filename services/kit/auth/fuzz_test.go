package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/herald-push/herald/services/kit/auth"
	"github.com/herald-push/herald/services/kit/auth/authtest"
)

// FuzzVerify: any string as a token is either accepted or refused with one
// of the documented reasons; nothing panics.
func FuzzVerify(f *testing.F) {
	f.Add(authtest.Token(f, "a", []string{"x"}, []string{"y.*"}))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	f.Add("a.b.c")
	f.Add("")
	cfg := auth.Default()
	cfg.HMACSecret = authtest.Secret
	k := authtest.NewKeys(f)
	cfg.JWKSFile = authtest.JWKSFile(f, authtest.JWK{KID: "rsa", Key: &k.RSA.PublicKey})
	v, err := auth.New(cfg, quiet())
	if err != nil {
		f.Fatal(err)
	}
	defer v.Close()
	reasons := map[string]bool{}
	for _, r := range []string{auth.ReasonMalformed, auth.ReasonBadSignature, auth.ReasonBadAlg, auth.ReasonUnknownKid,
		auth.ReasonExpired, auth.ReasonNotYetValid, auth.ReasonBadIssuer, auth.ReasonBadAudience, auth.ReasonNoExp, auth.ReasonNoSub} {
		reasons[r] = true
	}
	f.Fuzz(func(t *testing.T, tok string) {
		r, err := v.Verify(context.Background(), tok)
		var e *auth.Error
		switch {
		case err == nil:
			if r.Principal == "" || r.Anonymous {
				t.Fatalf("accepted without a principal: %+v", r)
			}
		case !errors.As(err, &e) || !reasons[e.Reason]:
			t.Fatalf("error %v is not a documented refusal", err)
		}
	})
}
