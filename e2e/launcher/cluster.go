package launcher

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// natsBinary is the nats-server built from the module the workspace already
// requires, so the cluster runs the same server version as the embedded one.
const natsBinary = "nats-server"

// natsNode is one nats-server process of a cluster. Its ports and store stay
// the same across restarts, as a node's would in production.
type natsNode struct {
	name       string
	clientAddr string
	routeAddr  string
	httpAddr   string // monitoring: /healthz?js-enabled-only... tells readiness
	conf       string
	proc       *proc
}

// BuildNATSServer compiles nats-server (github.com/nats-io/nats-server/v2 at
// the version e2e/go.mod requires) into dir.
func BuildNATSServer(ctx context.Context, root, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, natsBinary), "github.com/nats-io/nats-server/v2")
	cmd.Dir = filepath.Join(root, "e2e")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building nats-server: %w\n%s", err, out)
	}
	return nil
}

// natsServerPath returns the nats-server binary in bin, building it the
// first time (once per build directory).
func natsServerPath(ctx context.Context, root, bin string) (string, error) {
	shared.Lock()
	defer shared.Unlock()
	path := filepath.Join(bin, natsBinary)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	return path, BuildNATSServer(ctx, root, bin)
}

// startCluster starts n nats-server processes routed into one JetStream
// cluster and waits until every node is healthy with JetStream.
func (s *Stack) startCluster(ctx context.Context, n int) error {
	path, err := natsServerPath(ctx, s.opts.Root, s.bin)
	if err != nil {
		return err
	}
	s.natsBin = path
	s.cluster = make([]*natsNode, n)
	for i := range n {
		nd := &natsNode{name: fmt.Sprintf("nats-%d", i)}
		for _, a := range []*string{&nd.clientAddr, &nd.routeAddr, &nd.httpAddr} {
			if *a, err = freeAddr(); err != nil {
				return err
			}
		}
		s.cluster[i] = nd
	}
	var urls, routes []string
	for _, nd := range s.cluster {
		urls = append(urls, "nats://"+nd.clientAddr)
		routes = append(routes, "nats-route://"+nd.routeAddr)
	}
	for _, nd := range s.cluster {
		nd.conf = filepath.Join(s.Dir, nd.name+".conf")
		if err := os.WriteFile(nd.conf, []byte(nodeConfig(nd, filepath.Join(s.Dir, nd.name), routes)), 0o644); err != nil {
			return err
		}
	}
	for i := range s.cluster {
		if err := s.startNode(i); err != nil {
			return err
		}
	}
	for i := range s.cluster {
		if err := s.waitNode(ctx, i); err != nil {
			return err
		}
	}
	s.NATSURL = strings.Join(urls, ",")
	return nil
}

// nodeConfig is a nats-server configuration for one node.
func nodeConfig(nd *natsNode, store string, routes []string) string {
	return fmt.Sprintf(`server_name: %s
listen: %s
http: %s
jetstream {
  store_dir: %q
}
cluster {
  name: herald
  listen: %s
  routes: [%s]
}
`, nd.name, nd.clientAddr, nd.httpAddr, store, nd.routeAddr, strings.Join(routes, ", "))
}

func (s *Stack) startNode(i int) error {
	nd := s.cluster[i]
	p, err := startProc(nd.name, s.natsBin, []string{"-c", nd.conf}, os.Environ(),
		filepath.Join(s.Dir, "logs", nd.name+".log"), s.opts.Echo)
	if err != nil {
		return err
	}
	nd.proc = p
	return nil
}

// waitNode waits for node i's monitoring /healthz: JetStream up and, once a
// cluster formed, the node current with its meta leader.
func (s *Stack) waitNode(ctx context.Context, i int) error {
	nd := s.cluster[i]
	return waitReady(ctx, nd.proc, "http://"+nd.httpAddr+"/healthz")
}

// NATSNodes is the number of nats-server processes (0 with the embedded
// single server).
func (s *Stack) NATSNodes() int { return len(s.cluster) }

// NATSNodeName is node i's server_name, as JetStream reports leaders.
func (s *Stack) NATSNodeName(i int) string { return s.cluster[i].name }

// NATSNodeURL is node i's client URL.
func (s *Stack) NATSNodeURL(i int) string { return "nats://" + s.cluster[i].clientAddr }

// NATSNodeIndex returns the index of the node named name, or -1.
func (s *Stack) NATSNodeIndex(name string) int {
	for i, nd := range s.cluster {
		if nd.name == name {
			return i
		}
	}
	return -1
}

// KillNATSNode SIGKILLs node i: its connections drop at once.
func (s *Stack) KillNATSNode(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cluster[i].proc.stop(syscall.SIGKILL, 5*time.Second)
}

// FreezeNATSNode SIGSTOPs node i: its sockets stay open and answer nothing,
// as a hung machine's would.
func (s *Stack) FreezeNATSNode(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cluster[i].proc.signalGroup(syscall.SIGSTOP)
}

// ThawNATSNode SIGCONTs a frozen node i.
func (s *Stack) ThawNATSNode(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cluster[i].proc.signalGroup(syscall.SIGCONT)
}

// RestartNATSNode starts node i again (after a kill) with its ports and store
// and waits until it is healthy.
func (s *Stack) RestartNATSNode(ctx context.Context, i int) error {
	s.mu.Lock()
	if p := s.cluster[i].proc; p != nil && !p.exited() {
		s.mu.Unlock()
		return fmt.Errorf("%s is still running", s.cluster[i].name)
	}
	err := s.startNode(i)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.waitNode(ctx, i)
}

// stopCluster stops every node (thawing a frozen one first so it can exit).
func (s *Stack) stopCluster() []error {
	var errs []error
	for _, nd := range s.cluster {
		if nd == nil || nd.proc == nil {
			continue
		}
		nd.proc.signalGroup(syscall.SIGCONT)
		errs = append(errs, nd.proc.stop(syscall.SIGTERM, 15*time.Second))
	}
	return errs
}

// NATSNodeMonitorURL is node i's monitoring endpoint (/healthz, /connz, /jsz).
func (s *Stack) NATSNodeMonitorURL(i int) string { return "http://" + s.cluster[i].httpAddr }
