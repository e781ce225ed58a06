// Package stack starts Herald for a bench run with the e2e launcher, and puts
// a bench-sized nginx in front of it: the launcher's nginx is sized for tests
// (one worker, 1024 connections), and a proxied SSE stream costs nginx two
// connections, so ten thousand subscribers need a front door of their own.
// The bench's nginx renders the very same template, only its main config
// (workers, connection and file limits) differs.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/herald-push/herald/bench/internal/procstat"
	"github.com/herald-push/herald/e2e/launcher"
)

// AnonymousGrant is what the bench's services let anonymous clients publish
// and subscribe: every channel herald-bench names (bench.<stamp>-<k>.c<i>).
const AnonymousGrant = "bench.>"

// Options choose the topology.
type Options struct {
	// Via is "direct", "nginx" (nginx reaches the replicas over loopback TCP,
	// as compose runs it) or "nginx-unix" (over the replicas'
	// http.unix_socket, as on one host).
	Via      string
	Replicas int // stream replicas; 0: 1 direct, 2 via nginx
	Log      io.Writer
}

// Stack is a running Herald with what the bench needs to drive it.
type Stack struct {
	SSEURL      string   // template with {channel}
	PublishURL  string   // template with {channel}
	PIDs        []int    // stream replicas, then nginx (master and workers)
	MetricsURLs []string // each stream replica's /metrics
	Label       string

	l      *launcher.Stack
	via    string
	urls   []string // every server's base URL, to find its pids again
	nginx  *exec.Cmd
	prefix string
}

// Start launches the stack and, via nginx, the bench's own nginx.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Replicas <= 0 {
		o.Replicas = 1
		if o.Via != "direct" {
			o.Replicas = 2
		}
	}
	// Auth fails closed: the bench publishes and subscribes without tokens,
	// on its own channels only (bench.<run>.c<i>), as anonymous.
	l, err := launcher.Start(ctx, launcher.Options{Replicas: o.Replicas, Env: launcher.Anonymous(AnonymousGrant), UnixUpstreams: o.Via == "nginx-unix"})
	if err != nil {
		return nil, fmt.Errorf("starting the stack: %w", err)
	}
	s := &Stack{l: l, via: o.Via, Label: o.Via}
	// The api is published to directly in both modes: the bench measures
	// fan-out, and the publish path through nginx is not what is under test.
	s.PublishURL = l.APIURL + "/api/v1/channels/{channel}/events"
	for _, u := range l.StreamURLs {
		pids, err := pidsOf(u)
		if err != nil {
			l.Close()
			return nil, err
		}
		s.PIDs = append(s.PIDs, pids...)
		s.urls = append(s.urls, u)
		s.MetricsURLs = append(s.MetricsURLs, u+"/metrics")
	}
	switch o.Via {
	case "direct":
		s.SSEURL = l.StreamURLs[0] + "/stream?channel={channel}"
	case "nginx", "nginx-unix":
		base, err := s.startNginx(ctx, l)
		if err != nil {
			l.Close()
			return nil, err
		}
		s.SSEURL = base + "/stream?channel={channel}"
		pids, err := pidsOf(base)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.PIDs = append(s.PIDs, pids...)
		s.urls = append(s.urls, base)
	default:
		l.Close()
		return nil, fmt.Errorf("unknown --via %q", o.Via)
	}
	return s, nil
}

// Kill SIGKILLs stream replica 0. Direct, it is started again at once (the
// subscribers have nowhere else to go); via nginx, the others take over.
func (s *Stack) Kill() error {
	if err := s.l.KillStream(0); err != nil && !strings.Contains(err.Error(), "signal: killed") {
		return fmt.Errorf("killing stream 0: %w", err)
	}
	if s.via == "direct" {
		go s.l.StartStream(0) //nolint:errcheck // a failed restart shows as subscribers that never catch up
	}
	return nil
}

// CurrentPIDs finds the server processes again (a restarted replica has a
// new pid); servers not listening right now are left out.
func (s *Stack) CurrentPIDs() []int {
	var out []int
	for _, u := range s.urls {
		if pids, err := pidsOf(u); err == nil {
			out = append(out, pids...)
		}
	}
	return out
}

// Close stops the bench's nginx and the stack.
func (s *Stack) Close() error {
	if s.nginx != nil && s.nginx.Process != nil {
		s.nginx.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { s.nginx.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-s.nginx.Process.Pid, syscall.SIGKILL)
			<-done
		}
		s.nginx = nil
	}
	if s.prefix != "" {
		os.RemoveAll(s.prefix)
		s.prefix = ""
	}
	return s.l.Close()
}

func pidsOf(rawURL string) ([]int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(u.Port())
	return procstat.ListenerPIDs(port)
}

// mainConf is the bench nginx's main config: two workers (one per core here),
// each allowed every file descriptor the machine gives a process, and
// reuseport on the listener (in the template's listen value) so the kernel
// spreads connections evenly over the workers. One worker would hold 0.4 KB
// less per idle stream (13.0 instead of 13.4 KB, 5,000 streams) but puts every
// write of a fan-out on one core: its p99 came out higher in every run
// (5,000 x 1 ev/s: 631 vs 295 ms; x 10 ev/s: 1.53 vs 1.02 s, on a shared box).
const mainConf = `user root root;
worker_processes 2;
worker_rlimit_nofile 20000;
pid {{P}}/nginx.pid;
error_log {{P}}/error.log warn;
events {
    worker_connections 19000;
    multi_accept on;
}
http {
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {{P}}/tmp;
    proxy_temp_path {{P}}/tmp;
    fastcgi_temp_path {{P}}/tmp;
    uwsgi_temp_path {{P}}/tmp;
    scgi_temp_path {{P}}/tmp;
    keepalive_timeout 65;
    include {{P}}/herald.conf;
}
`

func (s *Stack) startNginx(ctx context.Context, l *launcher.Stack) (string, error) {
	bin, err := launcher.FindNginx("")
	if err != nil {
		return "", err
	}
	root, err := launcher.RepoRoot()
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	s.prefix, err = os.MkdirTemp("", "herald-bench-nginx-")
	if err != nil {
		return "", err
	}
	vars, err := templateVars(bin, s.prefix, root, addr, l.APIURL, l.StreamUpstreams())
	if err != nil {
		return "", err
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "nginx", "templates", "herald.conf.template"))
	if err != nil {
		return "", fmt.Errorf("reading nginx template: %w", err)
	}
	snippet, err := launcher.Render(string(tmpl), vars)
	if err != nil {
		return "", err
	}
	conf, err := writeConfig(s.prefix, snippet)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "-p", s.prefix+"/", "-c", conf, "-e", filepath.Join(s.prefix, "error.log"), "-g", "daemon off;")
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting nginx: %w", err)
	}
	s.nginx = cmd
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return base, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			b, _ := os.ReadFile(filepath.Join(s.prefix, "error.log"))
			return "", errors.New("nginx did not start: " + string(b))
		}
		time.Sleep(50 * time.Millisecond) // polling a port, bounded by the deadline
	}
}

// templateVars are the values the bench's nginx renders the template with.
// The HTTPS listener (a self-signed certificate in prefix) is there because
// the template always has one; the bench speaks plain HTTP. The per-IP limits
// are set far above the bench's load: its subscribers come from a few
// loopback addresses, and the limits are not what it measures.
func templateVars(nginx, prefix, root, addr, apiURL string, upstreams []string) (map[string]string, error) {
	cert, key, err := launcher.SelfSignedCert(filepath.Join(prefix, "tls"))
	if err != nil {
		return nil, err
	}
	major, minor, patch, err := launcher.NginxVersion(nginx)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tlsAddr := ln.Addr().String()
	ln.Close()
	tlsListen, http2 := launcher.HTTP2Vars(tlsAddr, major, minor, patch)
	return map[string]string{
		"HERALD_NGINX_LISTEN":        addr + " reuseport backlog=4096",
		"HERALD_NGINX_TLS_LISTEN":    tlsListen,
		"HERALD_HTTP2":               http2,
		"HERALD_TLS_CERT":            cert,
		"HERALD_TLS_KEY":             key,
		"HERALD_API_UPSTREAM":        "server " + strings.TrimPrefix(apiURL, "http://") + ";",
		"HERALD_STREAM_UPSTREAMS":    launcher.ServerLines(upstreams),
		"HERALD_CORS_ORIGINS":        "",
		"HERALD_BODY_LIMIT":          "1m",
		"HERALD_STREAM_READ_TIMEOUT": "3600s",
		"HERALD_STREAM_CONN_LIMIT":   "65535",
		"HERALD_API_RATE":            "1000000r/s",
		"HERALD_API_BURST":           "1000000",
		"HERALD_ACCESS_LOG":          "off",
		"HERALD_HTML_ROOT":           filepath.Join(root, "nginx", "html"),
		// Never asked: local upstreams are addresses, not names to re-resolve.
		"HERALD_RESOLVER": "127.0.0.1",
	}, nil
}

// writeConfig lays out prefix: the rendered snippet and the main config.
func writeConfig(prefix, snippet string) (string, error) {
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(prefix, "herald.conf"), []byte(snippet), 0o644); err != nil {
		return "", err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	main := strings.ReplaceAll(mainConf, "{{P}}", prefix)
	if os.Geteuid() != 0 {
		main = strings.TrimPrefix(main, "user root root;\n")
	}
	return conf, os.WriteFile(conf, []byte(main), 0o644)
}
