package launcher

import "syscall"

// childAttr puts a child in its own process group (so a stop reaches its
// whole tree) and has Linux kill it if this process dies first, so a crashed
// or killed run leaves nothing listening on its ports.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
