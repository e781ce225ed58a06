package natsconn

import (
	"github.com/nats-io/nats.go"

	"github.com/herald-push/herald/services/kit/config"
)

// Credentials authenticate a service to NATS, besides any user:password@ or
// token@ in nats.url itself.
type Credentials struct {
	User      string
	Password  string
	CredsFile string // a .creds file (JWT + nkey seed) of a NATS account
}

// readCredentials reads nats.user, nats.password and nats.creds.
func readCredentials(r *config.Reader) Credentials {
	c := Credentials{User: r.Optional("nats.user"), Password: r.Optional("nats.password"), CredsFile: r.Optional("nats.creds")}
	r.Check(c.Password == "" || c.User != "", "nats.password", "is set but nats.user is empty")
	return c
}

// options are the nats.go options for c.
func (c Credentials) options() []nats.Option {
	var opts []nats.Option
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	return opts
}
