// Package launcher starts Herald's whole topology on loopback without Docker,
// as docker-compose.yml does in containers: an embedded NATS server with
// JetStream, the api, N stream replicas (the real binaries, as processes), and
// the system nginx running nginx/templates/herald.conf.template rendered with
// local upstreams. The end-to-end tests and scripts/dev (e2e/cmd/herald-dev)
// use it; Close leaves no process behind.
package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options shape a stack; the zero value is the production-like default.
type Options struct {
	Dir              string        // logs, nginx prefix, NATS store; a temp dir removed by Close when empty
	Addr             string        // nginx listen address; default 127.0.0.1 on a free port
	Replicas         int           // stream replicas; default 2
	Heartbeat        time.Duration // stream sse.heartbeat; 0 keeps the service default
	NginxReadTimeout time.Duration // nginx proxy_read_timeout for /stream; default 1h
	CORSOrigins      []string      // origins allowed cross-origin; default none
	HTMLRoot         string        // served at /; default <repo>/nginx/html
	BodyLimit        string        // nginx client_max_body_size; default 1m (the api's batch limit)
	Env              []string      // extra HERALD_*=value for both services, after the dev auth defaults (so they win)
	NoDevAuth        bool          // start the services without DevAuthEnv: no key, no anonymous rights (fail closed)
	TLSAddr          string        // nginx HTTPS (HTTP/2) listen address; default 127.0.0.1 on a free port
	TLSCert, TLSKey  string        // PEM files for HTTPS; default a self-signed localhost certificate in Dir
	StreamConnLimit  int           // nginx: open /stream requests per client IP; default 100
	APIRate          string        // nginx: /api/ requests per second per client IP (limit_req rate); default 100r/s
	APIBurst         int           // nginx: requests over APIRate let through at once; default 200
	APIEnv           []string      // extra KEY=value for the api
	StreamEnv        []string      // extra KEY=value for every stream replica
	Nginx            string        // nginx binary; default found by FindNginx
	Root             string        // repository root; default RepoRoot()
	BinDir           string        // directory holding prebuilt api and stream binaries; default built once per process
	Echo             io.Writer     // when set, every process's output is also copied here, line by line
	NATSCluster      int           // >1: that many nats-server processes in one JetStream cluster, events.replicas = it (see cluster.go); default one embedded server
	// PassEnv passes the parent's HERALD_* variables on to both services
	// (over Env, APIEnv and StreamEnv; never the addresses the launcher
	// wires). scripts/dev sets it; tests leave it off so a developer's shell
	// cannot change what they test.
	PassEnv bool
	// UnixUpstreams: nginx reaches the stream replicas over Unix sockets
	// (each replica's http.unix_socket, in Dir) instead of loopback TCP; the
	// replicas still listen on StreamURLs too. Default TCP, as compose runs.
	UnixUpstreams bool
}

// Stack is a running topology.
type Stack struct {
	BaseURL    string   // nginx: the one origin a browser uses
	TLSURL     string   // nginx over HTTPS with HTTP/2: https://127.0.0.1:port
	CertFile   string   // the certificate nginx serves on TLSURL
	APIURL     string   // the api directly
	StreamURLs []string // each stream replica directly
	// StreamSockets are the replicas' Unix sockets, with UnixUpstreams.
	StreamSockets []string
	NATSURL       string
	Dir           string

	opts       Options
	bin        string
	env        []string
	removeDir  bool
	streamAddr []string
	sockDir    string // a short temporary directory for the sockets, removed by Close

	mu       sync.Mutex
	natsOpts *server.Options
	nats     *server.Server
	cluster  []*natsNode // NATSCluster > 1 (cluster.go)
	natsBin  string
	api      *proc
	streams  []*proc
	nginx    *proc
	closed   bool
}

// Start builds (once per process) and starts everything, and returns when
// every part answers its readiness check. On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Replicas <= 0 {
		opts.Replicas = 2
	}
	if opts.NginxReadTimeout <= 0 {
		opts.NginxReadTimeout = time.Hour
	}
	if opts.BodyLimit == "" {
		opts.BodyLimit = "1m"
	}
	s := &Stack{opts: opts, Dir: opts.Dir}
	if s.opts.Nginx, err = FindNginx(opts.Nginx); err != nil {
		return nil, err
	}
	if s.opts.Root == "" {
		if s.opts.Root, err = RepoRoot(); err != nil {
			return nil, err
		}
	}
	if s.opts.HTMLRoot == "" {
		s.opts.HTMLRoot = filepath.Join(s.opts.Root, "nginx", "html")
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "herald-stack-"); err != nil {
			return nil, err
		}
		s.removeDir = true
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(filepath.Join(s.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	s.bin = opts.BinDir
	if s.bin == "" {
		if s.bin, err = sharedBuild(ctx, s.opts.Root); err != nil {
			return nil, err
		}
	}
	if opts.NATSCluster > 1 {
		if err := s.startCluster(ctx, opts.NATSCluster); err != nil {
			return nil, err
		}
		s.opts.APIEnv = append([]string{fmt.Sprintf("HERALD_EVENTS_REPLICAS=%d", min(opts.NATSCluster, 5))}, s.opts.APIEnv...)
	} else if err := s.startNATS(-1); err != nil {
		return nil, err
	}
	// The dev auth defaults come first: anything after them with the same
	// name (the environment childEnv passes on, Options.Env) wins, as the
	// last of duplicate names does for exec.
	if !opts.NoDevAuth {
		s.env = DevAuthEnv()
	}
	s.env = append(s.env, childEnv(os.Environ(), "HERALD_NATS_URL="+s.NATSURL)...)
	if err := s.startAPI(ctx); err != nil {
		return nil, err
	}
	s.streams = make([]*proc, opts.Replicas)
	for i := range opts.Replicas {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		s.streamAddr = append(s.streamAddr, addr)
		s.StreamURLs = append(s.StreamURLs, "http://"+addr)
		if opts.UnixUpstreams {
			sock, err := s.socketPath(i)
			if err != nil {
				return nil, err
			}
			s.StreamSockets = append(s.StreamSockets, sock)
		}
		if err := s.StartStream(i); err != nil {
			return nil, err
		}
	}
	if err := s.startNginx(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// childEnv is the parent's environment without any HERALD_* variable (a
// developer's shell must not leak into a test's stack; Options.PassEnv adds
// them back on purpose), plus extra.
func childEnv(environ []string, extra ...string) []string {
	var env []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "HERALD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// handedOut is every port freeAddr returned in this process. A port is
// free once its probe listener closes, so the kernel may offer it again to
// the next probe before its first user bound it (nginx's HTTP and HTTPS
// listeners once got the same port: "a duplicate listen").
var handedOut sync.Map

func freeAddr() (string, error) {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("finding a free port: %w", err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, taken := handedOut.LoadOrStore(addr, true); !taken {
			return addr, nil
		}
	}
	return "", errors.New("finding a free port: every port offered was handed out already")
}

func (s *Stack) startNATS(port int) error {
	if s.natsOpts == nil {
		s.natsOpts = &server.Options{
			ServerName: "herald-e2e",
			Host:       "127.0.0.1",
			Port:       port,
			JetStream:  true,
			StoreDir:   filepath.Join(s.Dir, "nats"),
			NoSigs:     true,
			NoLog:      true,
		}
	}
	ns, err := server.NewServer(s.natsOpts)
	if err != nil {
		return fmt.Errorf("creating nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return errors.New("nats server not ready within 10s")
	}
	s.nats = ns
	// Keep the port: a restart must come back where the services reconnect.
	s.natsOpts.Port = ns.Addr().(*net.TCPAddr).Port
	s.NATSURL = ns.ClientURL()
	return nil
}

func (s *Stack) startAPI(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	s.APIURL = "http://" + addr
	env := append([]string{}, s.env...)
	if len(s.opts.CORSOrigins) > 0 {
		// The origins nginx lets through CORS may also publish with a cookie.
		env = append(env, "HERALD_AUTH_ALLOWED_ORIGINS="+strings.Join(s.opts.CORSOrigins, " "))
	}
	env = append(append(append(env, s.opts.Env...), s.opts.APIEnv...), s.passed()...)
	env = append(env, "HERALD_HTTP_ADDR="+addr)
	p, err := startProc("api", filepath.Join(s.bin, apiBinary), nil, env, filepath.Join(s.Dir, "logs", "api.log"), s.opts.Echo)
	if err != nil {
		return err
	}
	s.api = p
	return waitReady(ctx, p, s.APIURL+"/readyz")
}

// StartStream starts replica i (again) on its own address.
func (s *Stack) StartStream(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.streams[i]; p != nil && !p.exited() {
		return fmt.Errorf("stream %d is already running", i)
	}
	env := append(append(append([]string{}, s.env...), s.opts.Env...), s.opts.StreamEnv...)
	env = append(append(env, s.passed()...), "HERALD_HTTP_ADDR="+s.streamAddr[i])
	if s.opts.UnixUpstreams {
		env = append(env, "HERALD_HTTP_UNIX_SOCKET="+s.StreamSockets[i])
	}
	if s.opts.Heartbeat > 0 {
		env = append(env, "HERALD_SSE_HEARTBEAT="+s.opts.Heartbeat.String())
	}
	name := fmt.Sprintf("stream-%d", i)
	p, err := startProc(name, filepath.Join(s.bin, streamBinary), nil, env, filepath.Join(s.Dir, "logs", name+".log"), s.opts.Echo)
	if err != nil {
		return err
	}
	s.streams[i] = p
	return waitReady(context.Background(), p, s.StreamURLs[i]+"/readyz")
}

// KillStream SIGKILLs replica i: its clients see their connection cut.
func (s *Stack) KillStream(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[i].stop(syscall.SIGKILL, 5*time.Second)
}

// StopStream SIGTERMs replica i and waits for its graceful exit.
func (s *Stack) StopStream(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[i].stop(syscall.SIGTERM, 30*time.Second)
}

// RestartNATS shuts the NATS server down and starts it again on the same
// port with the same JetStream store, as a NATS restart in production would.
func (s *Stack) RestartNATS() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nats.Shutdown()
	s.nats.WaitForShutdown()
	return s.startNATS(s.natsOpts.Port)
}

func (s *Stack) startNginx(ctx context.Context) error {
	vars, err := s.nginxVars()
	if err != nil {
		return err
	}
	tmpl, err := os.ReadFile(filepath.Join(s.opts.Root, "nginx", "templates", "herald.conf.template"))
	if err != nil {
		return fmt.Errorf("reading nginx template: %w", err)
	}
	snippet, err := Render(string(tmpl), vars)
	if err != nil {
		return err
	}
	prefix := filepath.Join(s.Dir, "nginx")
	conf, err := writeNginxConfig(prefix, snippet)
	if err != nil {
		return err
	}
	p, err := startProc("nginx", s.opts.Nginx, nginxArgs(prefix, conf, "-g", "daemon off;"), os.Environ(),
		filepath.Join(s.Dir, "logs", "nginx.log"), s.opts.Echo)
	if err != nil {
		return err
	}
	s.nginx = p
	if err := waitReady(ctx, p, s.BaseURL+"/healthz"); err != nil {
		return fmt.Errorf("%w\nnginx error.log:\n%s", err, tail(filepath.Join(prefix, "logs", "error.log"), 20))
	}
	return nil
}

// socketPath is replica i's Unix socket: in Dir, or in a short temporary
// directory when Dir's path would not fit a socket address (108 bytes).
func (s *Stack) socketPath(i int) (string, error) {
	dir := filepath.Join(s.Dir, "sock")
	if s.sockDir != "" {
		dir = s.sockDir
	} else if len(dir) > 90 {
		d, err := os.MkdirTemp("", "herald-sock-")
		if err != nil {
			return "", err
		}
		dir = d
		s.sockDir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(dir, fmt.Sprintf("stream-%d.sock", i)), nil
}

// StreamUpstreams is what nginx's herald_stream upstream lists: the
// replicas' sockets ("unix:/path") with UnixUpstreams, else their TCP
// addresses (host:port).
func (s *Stack) StreamUpstreams() []string {
	if !s.opts.UnixUpstreams {
		return s.streamAddr
	}
	var out []string
	for _, p := range s.StreamSockets {
		out = append(out, "unix:"+p)
	}
	return out
}

// ServerLines renders addrs as the server lines of an nginx upstream.
func ServerLines(addrs []string) string {
	var b strings.Builder
	for i, a := range addrs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("server " + a + ";")
	}
	return b.String()
}

// waitReady polls url until it answers 200, p exits, or 30s pass.
func waitReady(ctx context.Context, p *proc, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// No keep-alive: an idle probe connection would linger on the replica and
	// count in StreamConnections.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); its log ends:\n%s", p.name, p.err, tail(p.logPath, 20))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s (%s); its log ends:\n%s", p.name, url, last, tail(p.logPath, 20))
		case <-tick.C:
		}
	}
}

// LogFiles lists every log the stack writes, for a failing test to show.
func (s *Stack) LogFiles() []string {
	files, _ := filepath.Glob(filepath.Join(s.Dir, "logs", "*.log"))
	more, _ := filepath.Glob(filepath.Join(s.Dir, "nginx", "logs", "*.log"))
	return append(files, more...)
}

// Close stops nginx, the streams, the api and NATS, in that order (the front
// door first, so no new client arrives at a stopping replica), and removes the
// stack's directory when Start created it. It is safe to call twice.
func (s *Stack) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.nginx != nil {
		// SIGTERM is nginx's fast shutdown: it does not wait for open streams.
		errs = append(errs, s.nginx.stop(syscall.SIGTERM, 10*time.Second))
	}
	var wg sync.WaitGroup
	streamErrs := make([]error, len(s.streams))
	for i, p := range s.streams {
		if p != nil {
			wg.Go(func() { streamErrs[i] = p.stop(syscall.SIGTERM, 30*time.Second) })
		}
	}
	wg.Wait()
	errs = append(errs, streamErrs...)
	if s.api != nil {
		errs = append(errs, s.api.stop(syscall.SIGTERM, 30*time.Second))
	}
	if s.nats != nil {
		s.nats.Shutdown()
		s.nats.WaitForShutdown()
	}
	errs = append(errs, s.stopCluster()...)
	if s.sockDir != "" {
		errs = append(errs, os.RemoveAll(s.sockDir))
	}
	if s.removeDir {
		errs = append(errs, os.RemoveAll(s.Dir))
	}
	return errors.Join(errs...)
}
