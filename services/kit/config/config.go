// Package config loads a service's settings with viper in the order every
// Herald service uses: defaults < YAML file (--config) < HERALD_* environment
// < command-line flags. Each service declares its keys and defaults once; this
// package turns them into flags, environment bindings and typed, validated
// values whose errors name the offending key.
package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment variable: nats.url is HERALD_NATS_URL.
const EnvPrefix = "HERALD"

// Key is one setting of a service.
type Key struct {
	Name    string // dotted name, e.g. "sse.heartbeat"
	Default any    // string, int, bool or time.Duration
	Usage   string
	Secret  bool // masked when logged
}

// Defaults is the configuration with every key at its default, ignoring the
// environment, files and flags, read by from (a service's FromViper); it
// panics when the defaults do not pass from's checks (a test catches that).
func Defaults[C any](keys []Key, from func(*viper.Viper) (C, error)) C {
	v := viper.New()
	for _, k := range keys {
		v.SetDefault(k.Name, k.Default)
	}
	c, err := from(v)
	if err != nil {
		panic(fmt.Sprintf("the default configuration is invalid: %v", err))
	}
	return c
}

// EnvName is the environment variable that sets key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// Load parses args (without the program name) and returns a viper holding
// every key. A --config file that does not exist or does not parse, an unknown
// flag, or a file key the service does not have is an error.
func Load(service string, keys []Key, args []string) (*viper.Viper, error) {
	fs := pflag.NewFlagSet(service, pflag.ContinueOnError)
	fs.SortFlags = false
	cfgFile := fs.String("config", "", "YAML configuration file")
	v := viper.New()
	for _, k := range keys {
		v.SetDefault(k.Name, k.Default)
		usage := fmt.Sprintf("%s (env %s)", k.Usage, EnvName(k.Name))
		switch d := k.Default.(type) {
		case string:
			fs.String(k.Name, d, usage)
		case int:
			fs.Int(k.Name, d, usage)
		case bool:
			fs.Bool(k.Name, d, usage)
		case time.Duration:
			fs.Duration(k.Name, d, usage)
		default:
			return nil, fmt.Errorf("config key %s: unsupported default type %T", k.Name, k.Default)
		}
		if err := v.BindEnv(k.Name, EnvName(k.Name)); err != nil {
			return nil, fmt.Errorf("binding %s: %w", k.Name, err)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, k := range keys {
		if err := v.BindPFlag(k.Name, fs.Lookup(k.Name)); err != nil {
			return nil, fmt.Errorf("binding flag %s: %w", k.Name, err)
		}
	}
	if *cfgFile != "" {
		v.SetConfigFile(*cfgFile)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("reading config file %s: %w", *cfgFile, err)
		}
		known := make([]string, len(keys))
		for i, k := range keys {
			known[i] = k.Name
		}
		for _, k := range v.AllKeys() {
			if !slices.Contains(known, k) {
				return nil, fmt.Errorf("config file %s: unknown key %q", *cfgFile, k)
			}
		}
	}
	return v, nil
}

// UnknownEnv lists HERALD_* variables in environ that name none of keys, so a
// service can warn about a typo that would otherwise be silently ignored.
func UnknownEnv(keys []Key, environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") {
			continue
		}
		if !slices.ContainsFunc(keys, func(k Key) bool { return EnvName(k.Name) == name }) {
			out = append(out, name)
		}
	}
	return out
}

// Reader reads typed values from a loaded viper and collects every error, each
// naming its key, so a bad config reports all its problems at once.
type Reader struct {
	v    *viper.Viper
	errs []error
}

// NewReader reads from v.
func NewReader(v *viper.Viper) *Reader { return &Reader{v: v} }

func (r *Reader) fail(key, format string, a ...any) {
	r.errs = append(r.errs, fmt.Errorf("config %s (%s): %s", key, EnvName(key), fmt.Sprintf(format, a...)))
}

// String returns key as a string; empty is an error.
func (r *Reader) String(key string) string {
	s := strings.TrimSpace(r.v.GetString(key))
	if s == "" {
		r.fail(key, "must not be empty")
	}
	return s
}

// Optional returns key as a string that may be empty.
func (r *Reader) Optional(key string) string {
	return strings.TrimSpace(r.v.GetString(key))
}

// List returns key as a list: a YAML list, or a string of items separated
// by commas and/or spaces (the environment's form). Empty items are dropped.
func (r *Reader) List(key string) []string {
	var items []string
	switch v := r.v.Get(key).(type) {
	case []any:
		for _, it := range v {
			items = append(items, fmt.Sprint(it))
		}
	case []string:
		items = v
	default:
		items = strings.FieldsFunc(fmt.Sprint(v), func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' })
	}
	var out []string // nil when empty, like an unset key's zero value
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// OneOf returns key, which must be one of allowed.
func (r *Reader) OneOf(key string, allowed ...string) string {
	s := strings.ToLower(strings.TrimSpace(r.v.GetString(key)))
	if !slices.Contains(allowed, s) {
		r.fail(key, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
	return s
}

// Int returns key as an integer within [min, max].
func (r *Reader) Int(key string, min, max int) int {
	raw := strings.TrimSpace(fmt.Sprint(r.v.Get(key)))
	var n int
	if _, err := fmt.Sscan(raw, &n); err != nil || fmt.Sprint(n) != raw {
		r.fail(key, "%q is not a whole number", raw)
		return 0
	}
	if n < min || n > max {
		r.fail(key, "%d is outside %d..%d", n, min, max)
	}
	return n
}

// Bytes returns key as a byte size within [min, max]. It accepts a plain
// number or one with a KiB/MiB/GiB (or KB/MB/GB, meaning the same) suffix.
func (r *Reader) Bytes(key string, min, max int64) int64 {
	raw := strings.TrimSpace(fmt.Sprint(r.v.Get(key)))
	n, err := ParseBytes(raw)
	if err != nil {
		r.fail(key, "%v", err)
		return 0
	}
	if n < min || n > max {
		r.fail(key, "%d bytes is outside %d..%d", n, min, max)
	}
	return n
}

// Duration returns key as a Go duration within [min, max].
func (r *Reader) Duration(key string, min, max time.Duration) time.Duration {
	raw := strings.TrimSpace(fmt.Sprint(r.v.Get(key)))
	d, err := time.ParseDuration(raw)
	if err != nil {
		r.fail(key, "%q is not a duration like 15s or 1h30m", raw)
		return 0
	}
	if d < min || d > max {
		r.fail(key, "%s is outside %s..%s", d, min, max)
	}
	return d
}

// Bool returns key as a boolean.
func (r *Reader) Bool(key string) bool {
	raw := strings.ToLower(strings.TrimSpace(fmt.Sprint(r.v.Get(key))))
	switch raw {
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off", "":
		return false
	}
	r.fail(key, "%q is not true or false", raw)
	return false
}

// Check records a failed cross-field rule for key.
func (r *Reader) Check(ok bool, key, format string, a ...any) {
	if !ok {
		r.fail(key, format, a...)
	}
}

// Err returns every error collected, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// ParseBytes parses "65536", "64KiB", "64KB", "1MiB", "2GB" into bytes.
func ParseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mul    int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}}
	ls := strings.ToLower(strings.TrimSpace(s))
	mul := int64(1)
	for _, u := range units {
		if num, ok := strings.CutSuffix(ls, u.suffix); ok {
			ls, mul = strings.TrimSpace(num), u.mul
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(ls, &n); err != nil || fmt.Sprint(n) != ls || n < 0 {
		return 0, fmt.Errorf("%q is not a size like 65536, 64KiB or 1MiB", s)
	}
	return n * mul, nil
}

// Masked returns every key's value for logging, with secrets masked.
func Masked(v *viper.Viper, keys []Key) map[string]any {
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		val := v.Get(k.Name)
		if d, ok := val.(time.Duration); ok {
			val = d.String() // "15s", not 15000000000 in a JSON log
		}
		if s, ok := val.(string); ok && strings.Contains(s, "://") {
			val = MaskURL(s)
		}
		if k.Secret && fmt.Sprint(val) != "" {
			val = "*****"
		}
		out[k.Name] = val
	}
	return out
}

// MaskURL hides the credentials of a URL-shaped value such as
// nats://user:pw@host, or of every URL of a comma-separated list of them
// (nats.url lists every node of a cluster, each may carry a token).
func MaskURL(u string) string {
	if strings.Contains(u, ",") {
		parts := strings.Split(u, ",")
		for i, p := range parts {
			parts[i] = maskOne(p)
		}
		return strings.Join(parts, ",")
	}
	return maskOne(u)
}

func maskOne(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	// Credentials live in the authority, before any path, query or fragment.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return u
	}
	userinfo, host := rest[:at], rest[at+1:]
	user, _, hasPw := strings.Cut(userinfo, ":")
	if !hasPw {
		return scheme + "://*****@" + host
	}
	return scheme + "://" + user + ":*****@" + host
}
