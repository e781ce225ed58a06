package launcher

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// StreamConnections counts the established TCP connections replica i has
// accepted (Linux only: it reads /proc/net/tcp). Through nginx, each open
// stream is one such connection, so a test can tell which replica holds a
// browser's stream and kill exactly that one. Idle upstream keepalive
// connections count too; a test that needs an exact answer opens its stream
// on a fresh stack.
func (s *Stack) StreamConnections(i int) (int, error) {
	_, portStr, err := net.SplitHostPort(s.streamAddr[i])
	if err != nil {
		return 0, err
	}
	port, _ := strconv.Atoi(portStr)
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, fmt.Errorf("counting connections: %w", err)
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st ...; st 01 is ESTABLISHED.
		fields := strings.Fields(sc.Text())
		if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "01" {
			n++
		}
	}
	return n, sc.Err()
}
