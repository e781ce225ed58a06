package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Binary names inside a build directory (go build names them after their
// package directories).
const (
	apiBinary    = "api"
	streamBinary = "stream"
)

// RepoRoot finds the repository: the directory of the go.work the go command
// uses from the working directory, else the first parent holding go.work.
func RepoRoot() (string, error) {
	if out, err := exec.Command("go", "env", "GOWORK").Output(); err == nil {
		if p := strings.TrimSpace(string(out)); p != "" && p != "off" {
			return filepath.Dir(p), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the repository: no go.work in any parent of the working directory")
		}
		dir = parent
	}
}

// Build compiles the api and stream binaries of the repository at root into
// dir, in one go invocation so the two link in parallel.
func Build(ctx context.Context, root, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		"./services/api/cmd/api", "./services/stream/cmd/stream")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the services: %w\n%s", err, out)
	}
	return nil
}

var shared struct {
	sync.Mutex
	dir string
}

// sharedBuild builds the binaries once per process into a temporary directory
// and returns it: every stack a test binary starts runs the same build.
func sharedBuild(ctx context.Context, root string) (string, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.dir != "" {
		return shared.dir, nil
	}
	removeOrphanBuilds()
	dir, err := os.MkdirTemp("", fmt.Sprintf("herald-bin-%d-", os.Getpid()))
	if err != nil {
		return "", err
	}
	if err := Build(ctx, root, dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	shared.dir = dir
	return dir, nil
}

// removeOrphanBuilds deletes the shared builds of processes that ended
// without RemoveBuilds (a killed test binary, a tool that forgot), so they do
// not pile up in the temp directory.
func removeOrphanBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "herald-bin-*"))
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "herald-bin-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		// Signal 0 checks existence: ESRCH means the owner is gone.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// RemoveBuilds deletes the shared build; call it from TestMain after m.Run.
func RemoveBuilds() {
	shared.Lock()
	defer shared.Unlock()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
		shared.dir = ""
	}
}
