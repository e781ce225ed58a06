// Command herald is Herald's command-line client: publish events, tail
// channels, page through history and mint development tokens.
//
// Exit codes (stable, for scripts):
//
//	0 ok
//	1 the server could not be reached, or answered something unexpected
//	2 usage: bad flags or arguments, or a missing secret
//	3 refused: 400, 404, 413, 415, 422 (fix the request; retrying will not help)
//	4 not allowed: 401 or 403 (a missing, bad or expired token, or no grant)
//	5 unavailable: 503 or another 5xx (retry later)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitRefused     = 3
	exitNotAllowed  = 4
	exitUnavailable = 5
)

const usage = `herald — Herald's command-line client

  herald publish CHANNEL [DATA|-]   publish DATA, or each line of stdin, as events
  herald tail PATTERN...            print events as they arrive (resumes after reconnects)
  herald history PATTERN            print stored events, oldest first, every page
  herald presence PATTERN           how many connections (and which principals) listen, over all replicas
  herald token                      mint a development token signed with HERALD_AUTH_HMAC_SECRET

Common flags (before or after the command's own):
  --url URL      Herald's base URL (nginx), default $HERALD_URL or http://127.0.0.1:8080
  --token JWT    bearer token, default $HERALD_TOKEN

Run 'herald COMMAND -h' for a command's flags. Exit codes: 0 ok, 1 failure,
2 usage, 3 refused (4xx), 4 not allowed (401/403), 5 unavailable (5xx).
`

// exitError carries an exit code up to main.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func fail(code int, format string, a ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, a...)}
}

// env is what a command runs with; tests of the binary set it through the
// real environment and arguments.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmds := map[string]func(context.Context, []string, env) error{
		"publish":  publish,
		"tail":     tail,
		"history":  history,
		"presence": presenceCmd,
		"token":    token,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "herald: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	err := cmd(ctx, args[1:], e)
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		fmt.Fprintf(e.stderr, "herald %s: %s\n", args[0], ee.msg)
		return ee.code
	default:
		fmt.Fprintf(e.stderr, "herald %s: %v\n", args[0], err)
		return exitFailure
	}
}

// common are the flags every talking command has.
type common struct {
	url, token string
}

// newFlags makes a command's flag set; usage is its first help line (the
// flags' defaults follow), and c, when set, gets the talking flags.
func newFlags(name, usage string, e env, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, usage)
		fs.PrintDefaults()
	}
	if c != nil {
		def := e.getenv("HERALD_URL")
		if def == "" {
			def = "http://127.0.0.1:8080"
		}
		fs.StringVar(&c.url, "url", def, "Herald's base URL (nginx); $HERALD_URL")
		fs.StringVar(&c.token, "token", e.getenv("HERALD_TOKEN"), "bearer token; $HERALD_TOKEN")
	}
	return fs
}

// parse parses flags anywhere among the arguments (flag stops at the first
// positional one), so `herald tail chat.* --from 5` works.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fail(exitUsage, "%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (c common) base() string { return strings.TrimRight(c.url, "/") }
