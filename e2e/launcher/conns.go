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
	host, portStr, err := net.SplitHostPort(s.streamAddr[i])
	if err != nil {
		return 0, err
	}
	port, _ := strconv.Atoi(portStr)
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return 0, fmt.Errorf("counting connections: %s is not IPv4", host)
	}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, fmt.Errorf("counting connections: %w", err)
	}
	defer f.Close()
	// The kernel prints the address as a native-endian (little-endian on
	// amd64 and arm64) 32-bit number: 127.0.0.1 is 0100007F. Other processes
	// may use the same port on another loopback address.
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], port)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st ...; st 01 is ESTABLISHED.
		fields := strings.Fields(sc.Text())
		if len(fields) > 3 && fields[1] == want && fields[3] == "01" {
			n++
		}
	}
	return n, sc.Err()
}
