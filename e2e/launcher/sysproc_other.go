//go:build !linux

package launcher

import "syscall"

// childAttr puts a child in its own process group (so a stop reaches its
// whole tree). Pdeathsig is Linux-only: elsewhere (macOS) a child outlives a
// run that is killed with SIGKILL, but the normal stop and Ctrl-C paths still
// end it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
