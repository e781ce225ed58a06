// Package procstat reads a server process's resident memory and CPU time
// from /proc, so the bench can report the cost of connections and events on
// the server side without any help from the server.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// ticksPerSecond is USER_HZ, 100 on every Linux the bench targets.
const ticksPerSecond = 100

// Sample is one reading of one process.
type Sample struct {
	PID      int
	Name     string
	RSS      uint64  // bytes
	CPU      float64 // user+system seconds since the process started
	Threads  int
	Alive    bool
	ReadFail string `json:",omitempty"`
}

// Read samples pid. A process that is gone yields Alive false, not an error,
// because the resume scenario kills servers on purpose.
func Read(pid int) Sample {
	s := Sample{PID: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		s.ReadFail = err.Error()
		return s
	}
	if err := parseStat(stat, &s); err != nil {
		s.ReadFail = err.Error()
		return s
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		s.ReadFail = err.Error()
		return s
	}
	parseStatus(status, &s)
	s.Alive = true
	return s
}

// parseStat reads comm, utime and stime from /proc/<pid>/stat. The name is
// in parentheses and may itself contain spaces or ')', so fields are counted
// from the last ')'.
func parseStat(b []byte, s *Sample) error {
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return fmt.Errorf("parsing stat: no command name")
	}
	s.Name = string(b[open+1 : close])
	f := bytes.Fields(b[close+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return fmt.Errorf("parsing stat: %d fields", len(f))
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("parsing stat: bad cpu times")
	}
	s.CPU = float64(ut+st) / ticksPerSecond
	return nil
}

func parseStatus(b []byte, s *Sample) {
	for line := range bytes.Lines(b) {
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			f := bytes.Fields(line[len("VmRSS:"):])
			if len(f) >= 1 {
				kb, _ := strconv.ParseUint(string(f[0]), 10, 64)
				s.RSS = kb * 1024
			}
		case bytes.HasPrefix(line, []byte("Threads:")):
			f := bytes.Fields(line[len("Threads:"):])
			if len(f) >= 1 {
				s.Threads, _ = strconv.Atoi(string(f[0]))
			}
		}
	}
}

// ListenerPIDs returns the processes holding a listening TCP socket on port
// (every nginx worker as well as its master), found through /proc/net/tcp
// and each process's fd table, so the bench needs no pid from the server.
func ListenerPIDs(port int) ([]int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for line := range bytes.Lines(b) {
			fs := bytes.Fields(line)
			// sl local_address rem_address st ... inode (field 9)
			if len(fs) < 10 || string(fs[3]) != "0A" {
				continue
			}
			la := fs[1]
			i := bytes.LastIndexByte(la, ':')
			if i < 0 {
				continue
			}
			p, err := strconv.ParseUint(string(la[i+1:]), 16, 32)
			if err == nil && int(p) == port {
				inodes["socket:["+string(fs[9])+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return nil, fmt.Errorf("no listener on port %d", port)
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing /proc: %w", err)
	}
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err == nil && inodes[l] {
				pids = append(pids, pid)
				break
			}
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("no process found holding the listener on port %d", port)
	}
	return pids, nil
}

// Machine is the machine-wide CPU time from /proc/stat, in seconds summed
// over all cores: with a server's and the bench's own CPU it tells how much
// the rest of the machine (other engineers' work) took during a run.
type Machine struct {
	Busy, Total float64
}

// ReadMachine reads the first line of /proc/stat.
func ReadMachine() (Machine, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Machine{}, err
	}
	return parseMachine(b)
}

func parseMachine(b []byte) (Machine, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return Machine{}, fmt.Errorf("parsing /proc/stat: unexpected %q", line)
	}
	var m Machine
	// user nice system idle iowait irq softirq steal [guest guest_nice]:
	// guest time is already inside user and nice, so stop at steal.
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return Machine{}, fmt.Errorf("parsing /proc/stat: %w", err)
		}
		s := float64(n) / ticksPerSecond
		m.Total += s
		if i != 3 && i != 4 { // idle, iowait
			m.Busy += s
		}
	}
	return m, nil
}
