package procstat

import (
	"os"
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
