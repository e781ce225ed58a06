package launcher

import (
	"os"
	"slices"
	"strings"
)

// wired are the variables the launcher sets itself: passing a developer's
// value on would point a service away from the stack it is part of.
var wired = []string{"HERALD_HTTP_ADDR", "HERALD_HTTP_UNIX_SOCKET", "HERALD_NATS_URL"}

// passed is the parent's HERALD_* variables when Options.PassEnv is set,
// without the wired ones. Later entries of a child's environment win, so
// these override the launcher's defaults.
func (s *Stack) passed() []string {
	if !s.opts.PassEnv {
		return nil
	}
	return heraldEnv(os.Environ())
}

func heraldEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HERALD_") && !slices.Contains(wired, name) {
			out = append(out, kv)
		}
	}
	return out
}

// PassedEnv names the HERALD_* variables of this process that a stack with
// PassEnv hands to the services, for scripts/dev to print.
func PassedEnv() []string {
	var names []string
	for _, kv := range heraldEnv(os.Environ()) {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return names
}
