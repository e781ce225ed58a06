// Command herald-dev runs Herald's whole stack on this machine without Docker
// (what scripts/dev starts): an embedded NATS server with JetStream, the api,
// two stream replicas and the system nginx with the same template as
// docker-compose.yml, in the foreground on http://127.0.0.1:8080 and
// https://127.0.0.1:8443 (HTTP/2, a self-signed localhost certificate unless
// -tls-cert/-tls-key are given). The services get the development auth
// defaults (launcher.DevAuthEnv), printed at start. Ctrl-C stops everything.
// It installs nothing: without nginx it says how to get it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/herald-push/herald/e2e/launcher"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "herald-dev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("herald-dev", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address nginx listens on (the one origin to open)")
	tlsAddr := fs.String("tls-addr", "127.0.0.1:8443", "address nginx serves HTTPS with HTTP/2 on")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (full chain) for HTTPS (default: a self-signed one for localhost, made at start)")
	tlsKey := fs.String("tls-key", "", "PEM private key of -tls-cert")
	replicas := fs.Int("replicas", 2, "stream replicas")
	html := fs.String("html", "", "directory served at / (default: the repository's nginx/html)")
	cors := fs.String("cors", "http://localhost:3000 http://127.0.0.1:3000", "space-separated origins allowed to call the API and stream cross-origin")
	data := fs.String("data", "", "directory for logs and the NATS store, kept after exit (default: a temporary one, removed)")
	nginx := fs.String("nginx", "", "nginx binary (default: nginx on PATH or in /usr/sbin)")
	quiet := fs.Bool("quiet", false, "do not copy the services' logs to the terminal")
	natsCluster := fs.Int("nats-cluster", 0, "run this many nats-server processes as one JetStream cluster (e.g. 3: an R3 event stream) instead of one embedded server")
	if err := fs.Parse(args); err != nil {
		return err
	}

	nginxPath, err := launcher.FindNginx(*nginx)
	if err != nil {
		return err
	}
	// A clear word now beats nginx's bind error later.
	for _, a := range []struct{ flag, addr, other string }{{"-addr", *addr, "127.0.0.1:8090"}, {"-tls-addr", *tlsAddr, "127.0.0.1:8453"}} {
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			return fmt.Errorf("%s is not free (%v): stop what uses it or pass %s %s", a.addr, err, a.flag, a.other)
		}
		ln.Close()
	}

	opts := launcher.Options{
		Dir:         *data,
		Addr:        *addr,
		TLSAddr:     *tlsAddr,
		TLSCert:     *tlsCert,
		TLSKey:      *tlsKey,
		Replicas:    *replicas,
		HTMLRoot:    *html,
		CORSOrigins: strings.Fields(*cors),
		Nginx:       nginxPath,
		PassEnv:     true,
		NATSCluster: *natsCluster,
	}
	if !*quiet {
		opts.Echo = out
	}
	fmt.Fprintln(out, "herald-dev: building the api and stream binaries and starting NATS, api, stream ×", *replicas, "and nginx…")
	defer launcher.RemoveBuilds()
	s, err := launcher.Start(ctx, opts)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nHerald is running. Open the first address; Ctrl-C stops everything.")
	fmt.Fprintf(tw, "  demo page + API + stream (nginx)\t%s/\n", s.BaseURL)
	fmt.Fprintf(tw, "  … over HTTPS + HTTP/2\t%s/  (certificate %s)\n", s.TLSURL, s.CertFile)
	fmt.Fprintf(tw, "  api (direct)\t%s  (/healthz /readyz /metrics)\n", s.APIURL)
	for i, u := range s.StreamURLs {
		fmt.Fprintf(tw, "  stream replica %d (direct)\t%s\n", i, u)
	}
	fmt.Fprintf(tw, "  nats (JetStream)\t%s\n", s.NATSURL)
	if s.NATSNodes() > 1 {
		fmt.Fprintf(tw, "  \t%d-node cluster, events.replicas %d; freeze a node with kill -STOP $(pgrep -f nats-0.conf) to try a failover\n", s.NATSNodes(), min(s.NATSNodes(), 5))
	}
	fmt.Fprintf(tw, "  logs\t%s\n", strings.Join(s.LogFiles(), "\n\t"))
	if names := launcher.PassedEnv(); len(names) > 0 {
		fmt.Fprintf(tw, "  from your environment\t%s\n", strings.Join(names, " "))
	}
	fmt.Fprintf(tw, "\nAuth (development defaults): %s\n", launcher.DevAuthNotice())
	if slices.ContainsFunc(launcher.PassedEnv(), func(n string) bool { return strings.HasPrefix(n, "HERALD_AUTH_") }) {
		fmt.Fprintln(tw, "  …except what your HERALD_AUTH_* variables (listed above) set instead.")
	}
	if *tlsCert == "" {
		fmt.Fprintf(tw, "The HTTPS certificate is self-signed: curl --cacert %s, or trust it (certs/README.md).\n", s.CertFile)
	}
	fmt.Fprintln(tw, "\nTry it:")
	fmt.Fprintf(tw, "  curl -N '%s/stream?channel=chat.lobby'\n", s.BaseURL)
	fmt.Fprintf(tw, "  curl -X POST -H 'Content-Type: application/json' -d '{\"data\":{\"hello\":\"world\"}}' %s/api/v1/channels/chat.lobby/events\n", s.BaseURL)
	fmt.Fprintf(tw, "  curl --cacert %s '%s/stream?channel=chat.lobby'   (HTTP/2)\n", s.CertFile, s.TLSURL)
	tw.Flush()

	<-ctx.Done()
	fmt.Fprintln(out, "\nherald-dev: stopping…")
	return s.Close()
}
