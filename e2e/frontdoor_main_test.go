package e2e_test

import (
	"os"
	"testing"

	"github.com/herald-push/herald/e2e/launcher"
)

// TestMain removes the service binaries the launcher built once for all the
// tests of this package.
func TestMain(m *testing.M) {
	code := m.Run()
	launcher.RemoveBuilds()
	os.Exit(code)
}
