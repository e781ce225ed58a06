package launcher

import "strings"

// DevHMACSecret is the HMAC key docker-compose.yml, scripts/dev and the
// launcher give both services so that a developer can mint tokens at once. It
// is public: never use it anywhere real.
const DevHMACSecret = "herald-dev-secret-not-for-production"

// DevAnonymous are the channel patterns anyone may publish to and subscribe
// to without a token in development: the demo's channels, nothing else.
var DevAnonymous = []string{"chat.*", "ticker"}

// DevAuthEnv is the services' development auth configuration, which every
// stack gets unless Options.NoDevAuth is set; Options.Env and friends come
// after it, so a test overrides any of it (e.g. with Anonymous).
func DevAuthEnv() []string {
	return append([]string{"HERALD_AUTH_HMAC_SECRET=" + DevHMACSecret}, Anonymous(DevAnonymous...)...)
}

// Anonymous returns the environment granting anonymous clients publish and
// subscribe rights on patterns (none: anonymous gets nothing), for
// Options.Env: a test on its own channels passes Anonymous("mytest.>").
func Anonymous(patterns ...string) []string {
	list := strings.Join(patterns, ",")
	return []string{"HERALD_AUTH_ANONYMOUS_PUBLISH=" + list, "HERALD_AUTH_ANONYMOUS_SUBSCRIBE=" + list}
}

// DevAuthNotice says in one line what DevAuthEnv grants, for a developer's
// terminal.
func DevAuthNotice() string {
	return "anonymous may publish/subscribe " + strings.Join(DevAnonymous, ", ") +
		"; dev HMAC secret " + DevHMACSecret + " (development only: set HERALD_AUTH_* to change it)"
}
