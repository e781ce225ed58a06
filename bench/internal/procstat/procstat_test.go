package procstat

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantName string
		wantCPU  float64
		wantErr  bool
	}{
		{"plain", "1234 (stream) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0", "stream", 3, false},
		{"name with space and paren", "99 (a b) c) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0 20 0 1 0", "a b) c", 0.1, false},
		{"truncated", "99 (x) R 1 2", "", 0, true},
		{"no name", "garbage", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sample
			err := parseStat([]byte(tt.in), &s)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (s.Name != tt.wantName || s.CPU != tt.wantCPU) {
				t.Fatalf("got name %q cpu %v, want %q %v", s.Name, s.CPU, tt.wantName, tt.wantCPU)
			}
		})
	}
}

func TestReadSelfAndGone(t *testing.T) {
	s := Read(os.Getpid())
	if !s.Alive || s.RSS == 0 || s.Threads == 0 {
		t.Fatalf("self sample = %+v", s)
	}
	if g := Read(1 << 30); g.Alive {
		t.Fatalf("impossible pid reported alive: %+v", g)
	}
}

func TestListenerPIDsFindsAChild(t *testing.T) {
	// A listener in this very process is skipped on purpose (the bench never
	// measures itself), so listen from a child: a shell running nc is not
	// available everywhere, but the test binary can re-exec itself.
	if os.Getenv("PROCSTAT_LISTEN_CHILD") != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(2)
		}
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		select {} // killed by the parent
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenerPIDsFindsAChild$")
	cmd.Env = append(os.Environ(), "PROCSTAT_LISTEN_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var port int
	if _, err := fmt.Fscan(out, &port); err != nil {
		t.Fatalf("reading child port: %v", err)
	}
	pids, err := ListenerPIDs(port)
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Fatalf("pids = %v, want [%d]", pids, cmd.Process.Pid)
	}
}

func TestParseMachine(t *testing.T) {
	m, err := parseMachine([]byte("cpu  100 20 30 400 50 6 4 0 10 0\ncpu0 1 2 3 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Busy != 1.6 || m.Total != 6.1 {
		t.Fatalf("busy %v total %v, want 1.6 6.1", m.Busy, m.Total)
	}
	if _, err := parseMachine([]byte("intr 1 2 3")); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, err := ReadMachine(); err != nil {
		t.Fatal(err)
	}
}
