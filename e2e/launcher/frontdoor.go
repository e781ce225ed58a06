package launcher

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Front-door defaults, the same as docker-compose.yml's.
const (
	DefaultStreamConnLimit = 100
	DefaultAPIRate         = "100r/s"
	DefaultAPIBurst        = 200
)

// nginxVars are the template's values for this stack: its addresses (free
// loopback ports unless given), a self-signed certificate unless one is
// given, and the HTTP/2 spelling this nginx version understands.
func (s *Stack) nginxVars() (map[string]string, error) {
	o := &s.opts
	addr, tlsAddr := o.Addr, o.TLSAddr
	var err error
	if addr == "" {
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if tlsAddr == "" {
		if tlsAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	cert, key := o.TLSCert, o.TLSKey
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("TLS: give both a certificate and a key, or neither")
	}
	if cert == "" {
		if cert, key, err = SelfSignedCert(filepath.Join(s.Dir, "tls")); err != nil {
			return nil, err
		}
	}
	major, minor, patch, err := NginxVersion(o.Nginx)
	if err != nil {
		return nil, err
	}
	tlsListen, http2 := HTTP2Vars(tlsAddr, major, minor, patch)
	connLimit, rate, burst := o.StreamConnLimit, o.APIRate, o.APIBurst
	if connLimit <= 0 {
		connLimit = DefaultStreamConnLimit
	}
	if rate == "" {
		rate = DefaultAPIRate
	}
	if burst <= 0 {
		burst = DefaultAPIBurst
	}
	s.BaseURL, s.TLSURL, s.CertFile = "http://"+addr, "https://"+tlsAddr, cert
	return map[string]string{
		"HERALD_NGINX_LISTEN":        addr,
		"HERALD_NGINX_TLS_LISTEN":    tlsListen,
		"HERALD_HTTP2":               http2,
		"HERALD_TLS_CERT":            cert,
		"HERALD_TLS_KEY":             key,
		"HERALD_API_UPSTREAM":        "server " + strings.TrimPrefix(s.APIURL, "http://") + ";",
		"HERALD_STREAM_UPSTREAMS":    ServerLines(s.StreamUpstreams()),
		"HERALD_CORS_ORIGINS":        strings.Join(o.CORSOrigins, " "),
		"HERALD_BODY_LIMIT":          o.BodyLimit,
		"HERALD_STREAM_READ_TIMEOUT": nginxDuration(o.NginxReadTimeout),
		"HERALD_STREAM_CONN_LIMIT":   fmt.Sprint(connLimit),
		"HERALD_API_RATE":            rate,
		"HERALD_API_BURST":           fmt.Sprint(burst),
		"HERALD_ACCESS_LOG":          s.AccessLogPath() + " herald_access",
		"HERALD_HTML_ROOT":           o.HTMLRoot,
		// Never asked: local upstreams are addresses, not names to re-resolve.
		"HERALD_RESOLVER": "127.0.0.1",
	}, nil
}

// AccessLogPath is the file nginx writes its access log to (format
// herald_access, which never holds a token).
func (s *Stack) AccessLogPath() string {
	return filepath.Join(s.Dir, "nginx", "logs", "access.log")
}
