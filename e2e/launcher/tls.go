package launcher

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// SelfSignedCert writes a self-signed ECDSA P-256 certificate for localhost,
// 127.0.0.1 and ::1 (valid for a year) and its key to dir as tls.crt and
// tls.key, and returns their paths. It is what nginx serves HTTPS with when
// no real certificate is given; a browser accepts it only once trusted (or
// with --ignore-certificate-errors).
func SelfSignedCert(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generating a TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"Herald development (self-signed)"}},
		NotBefore:             now.Add(-time.Hour), // a clock slightly behind still accepts it
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// Its own CA, so it can be trusted as one (certutil, Keychain).
		IsCA:        true,
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("creating the TLS certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

var nginxVersionRE = regexp.MustCompile(`nginx/(\d+)\.(\d+)\.(\d+)`)

// NginxVersion asks the nginx binary for its version (`nginx -v`).
func NginxVersion(nginx string) (major, minor, patch int, err error) {
	out, err := exec.Command(nginx, "-v").CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s -v: %w: %s", nginx, err, out)
	}
	m := nginxVersionRE.FindSubmatch(out)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("%s -v: no version in %q", nginx, out)
	}
	major, _ = strconv.Atoi(string(m[1]))
	minor, _ = strconv.Atoi(string(m[2]))
	patch, _ = strconv.Atoi(string(m[3]))
	return major, minor, patch, nil
}

// HTTP2Vars returns the template's HERALD_NGINX_TLS_LISTEN and HERALD_HTTP2
// for an nginx of that version listening for HTTPS on addr: nginx 1.25.1
// replaced the listen parameter "http2" (now deprecated) by "http2 on;", and
// the versions before it know only the parameter (Debian 12 has 1.22).
func HTTP2Vars(addr string, major, minor, patch int) (listen, directive string) {
	if major > 1 || (major == 1 && (minor > 25 || (minor == 25 && patch >= 1))) {
		return addr + " ssl", "http2 on;"
	}
	return addr + " ssl http2", ""
}
