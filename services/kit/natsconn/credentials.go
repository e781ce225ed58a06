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

// CredentialKeys are the nats.* credential settings of every service.
func CredentialKeys() []config.Key {
	return []config.Key{
		{Name: "nats.user", Default: "", Usage: "NATS user name (with nats.password)"},
		{Name: "nats.password", Default: "", Secret: true, Usage: "NATS password of nats.user"},
		{Name: "nats.creds", Default: "", Usage: "path of a NATS .creds file (decentralized JWT auth)"},
	}
}

// ReadCredentials reads the keys of CredentialKeys.
func ReadCredentials(r *config.Reader) Credentials {
	c := Credentials{User: r.Optional("nats.user"), Password: r.Optional("nats.password"), CredsFile: r.Optional("nats.creds")}
	r.Check(c.Password == "" || c.User != "", "nats.password", "is set but nats.user is empty")
	return c
}

// Options are the nats.go options for c.
func (c Credentials) Options() []nats.Option {
	var opts []nats.Option
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	return opts
}
