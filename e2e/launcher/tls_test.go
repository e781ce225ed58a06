package launcher_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/herald-push/herald/e2e/launcher"
)

// TestSelfSignedCert checks the certificate a browser is told to trust: a
// valid key pair, which verifies against itself as a root for localhost and
// both loopback addresses, and a key file only its owner reads.
func TestSelfSignedCert(t *testing.T) {
	certFile, keyFile, err := launcher.SelfSignedCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: roots}); err == nil {
		t.Errorf("the certificate verifies for example.com")
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}
