package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-push/herald/e2e/launcher"
	"github.com/herald-push/herald/proto/channel"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// buildCLI compiles cli/cmd/herald once for the test.
func buildCLI(t *testing.T) string {
	t.Helper()
	root, err := launcher.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "herald")
	cmd := exec.Command("go", "build", "-o", bin, "./cli/cmd/herald")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the cli: %v\n%s", err, out)
	}
	return bin
}

type cliRun struct {
	code           int
	stdout, stderr string
}

// herald runs the binary with env (KEY=value) and stdin, to completion.
func herald(t *testing.T, bin string, env []string, stdin string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliRun{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("herald %v: %v", args, err)
	}
	return r
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// TestCLI runs the built herald binary against the launcher's stack (real
// nginx, api, two stream replicas, NATS): a token it mints is accepted,
// stdin lines become events, tail receives them and --from resumes,
// history follows its pages, and refusals get their documented exit codes.
func TestCLI(t *testing.T) {
	const secret = "cli-test-secret-0123456789abcdef0123"
	s := launcher.StartTB(t, launcher.Options{Env: []string{
		"HERALD_AUTH_HMAC_SECRET=" + secret,
		"HERALD_AUTH_ANONYMOUS_SUBSCRIBE=open.*",
	}})
	bin := buildCLI(t)
	base := []string{"HERALD_URL=" + s.BaseURL}

	// token
	mint := herald(t, bin, []string{"HERALD_AUTH_HMAC_SECRET=" + secret}, "", "token", "--sub", "cli", "--publish", "cli.*", "--subscribe", "cli.*,open.*", "--ttl", "10m")
	if mint.code != 0 || strings.Count(mint.stdout, ".") != 2 {
		t.Fatalf("token: %+v", mint)
	}
	if r := herald(t, bin, nil, "", "token"); r.code != 2 || !strings.Contains(r.stderr, "HERALD_AUTH_HMAC_SECRET") {
		t.Errorf("token without a secret: %+v", r)
	}
	env := append(base, "HERALD_TOKEN="+strings.TrimSpace(mint.stdout))

	// publish from stdin, one event per line, then in batches of 2.
	pub := herald(t, bin, env, "one\n{\"n\":2}\nthree\n", "publish", "cli.a", "-")
	if pub.code != 0 || len(lines(pub.stdout)) != 3 {
		t.Fatalf("publish stdin: %+v", pub)
	}
	ids := lines(pub.stdout)
	bat := herald(t, bin, env, "four\nfive\nsix\n", "publish", "cli.a", "--batch", "2", "--type", "note", "--idempotency-key", "run1")
	if bat.code != 0 || len(lines(bat.stdout)) != 3 {
		t.Fatalf("publish --batch: %+v", bat)
	}
	// Re-running with the same key stores nothing new: the same ids.
	again := herald(t, bin, env, "four\nfive\nsix\n", "publish", "cli.a", "--batch", "2", "--type", "note", "--idempotency-key", "run1")
	if again.code != 0 || again.stdout != bat.stdout {
		t.Errorf("idempotent re-run: %+v, first %q", again, bat.stdout)
	}

	// tail --from the first id replays the rest, in order, as lines.
	tl := herald(t, bin, env, "", "tail", "cli.*", "--from", ids[0], "--count", "5")
	if want := "{\"n\":2}\nthree\nfour\nfive\nsix\n"; tl.code != 0 || tl.stdout != want {
		t.Errorf("tail --from %s: %+v, want %q", ids[0], tl, want)
	}
	// tail --json carries ids and types.
	tj := herald(t, bin, env, "", "tail", "cli.a", "--from", ids[2], "--count", "1", "--json")
	if tj.code != 0 || !strings.HasPrefix(tj.stdout, `{"id":"`+fmt.Sprint(atoi(ids[2])+1)+`","channel":"cli.a","type":"note","data":"four"`) {
		t.Errorf("tail --json: %+v", tj)
	}
	// A live event reaches a running tail.
	live := exec.Command(bin, "tail", "cli.live", "--count", "1")
	live.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	var liveOut bytes.Buffer
	live.Stdout = &liveOut
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- live.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for got := false; !got; {
		// Publish until the tail has it (it may not be subscribed yet).
		if r := herald(t, bin, env, "", "publish", "cli.live", "ping"); r.code != 0 {
			t.Fatalf("publish live: %+v", r)
		}
		select {
		case err := <-done:
			if err != nil || liveOut.String() != "ping\n" {
				t.Errorf("live tail: %v %q", err, liveOut.String())
			}
			got = true
		case <-time.After(200 * time.Millisecond): // re-publish interval, not a wait for the result
			if time.Now().After(deadline) {
				_ = live.Process.Kill()
				t.Fatal("the live tail got nothing")
			}
		}
	}

	// history follows pages of 2 through all six cli.a events.
	h := herald(t, bin, env, "", "history", "cli.a", "--limit", "2")
	if hl := lines(h.stdout); h.code != 0 || len(hl) != 6 || !strings.Contains(hl[0], `"data":"one"`) || !strings.Contains(hl[5], `"data":"six"`) {
		t.Errorf("history: %+v", h)
	}
	if h := herald(t, bin, env, "", "history", "cli.a", "--after", ids[1], "--max", "2"); len(lines(h.stdout)) != 2 || !strings.Contains(h.stdout, `"data":"three"`) {
		t.Errorf("history --after --max: %+v", h)
	}

	// presence counts the running tail of cli.* (none now) on both replicas.
	if p := herald(t, bin, env, "", "presence", "cli.*"); p.code != 0 || !strings.Contains(p.stdout, `"pattern":"cli.*"`) || !strings.Contains(p.stdout, `"partial":false`) {
		t.Errorf("presence: %+v", p)
	}

	// Exit codes.
	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
		msg  string
	}{
		{"400 bad channel", env, []string{"publish", "cli..a", "x"}, 3, "400"},
		{"400 history bad after", env, []string{"history", "cli.a", "--after", "x"}, 3, "400"},
		{"401 no token", base, []string{"publish", "cli.a", "x"}, 4, "no_token"},
		{"401 bad token", append(base, "HERALD_TOKEN=a.b.c"), []string{"tail", "cli.a"}, 4, "401"},
		{"403 not granted", env, []string{"publish", "other", "x"}, 4, "forbidden"},
		{"usage", env, []string{"publish"}, 2, "CHANNEL"},
		{"unknown command", env, []string{"frobnicate"}, 2, "unknown command"},
		{"unreachable", []string{"HERALD_URL=http://127.0.0.1:1"}, []string{"history", "x"}, 1, "connect"},
	} {
		r := herald(t, bin, c.env, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%s: exit %d stderr %q; want %d and %q", c.name, r.code, r.stderr, c.code, c.msg)
		}
	}

	// 503: the event stream is gone (deleted behind the api's back), so the
	// next publish has no JetStream to acknowledge it. (The api ensures the
	// stream again afterwards; only this first publish is sure to fail.)
	nc, err := nats.Connect(s.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := js.DeleteStream(context.Background(), channel.StreamName); err != nil {
		t.Fatal(err)
	}
	r := herald(t, bin, env, "", "publish", "cli.a", "x")
	if r.code != 5 || !strings.Contains(r.stderr, "503") {
		t.Errorf("publish with NATS down: %+v", r)
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

// TestCLITailReconnects: a running tail survives both stream replicas
// dying; it reconnects with the last id it printed and prints what was
// published while it was away, once, in order.
func TestCLITailReconnects(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{Env: []string{
		"HERALD_AUTH_ANONYMOUS_PUBLISH=cli.r", "HERALD_AUTH_ANONYMOUS_SUBSCRIBE=cli.r",
	}})
	bin := buildCLI(t)
	env := []string{"HERALD_URL=" + s.BaseURL}
	pub := func(data string) string {
		t.Helper()
		r := herald(t, bin, env, "", "publish", "cli.r", data)
		if r.code != 0 {
			t.Fatalf("publish %s: %+v", data, r)
		}
		return strings.TrimSpace(r.stdout)
	}
	from := pub("r0")
	cmd := exec.Command(bin, "tail", "cli.r", "--from", from, "--count", "3")
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lr := bufio.NewReader(out)
	pub("r1")
	// --from makes r1 arrive whether the tail connected before or after it.
	if l, err := lr.ReadString('\n'); err != nil || l != "r1\n" {
		t.Fatalf("first line %q, %v", l, err)
	}
	for i := range 2 {
		if err := s.KillStream(i); err != nil {
			t.Fatal(err)
		}
	}
	pub("r2")
	for i := range 2 {
		if err := s.StartStream(i); err != nil {
			t.Fatal(err)
		}
	}
	pub("r3")
	rest, _ := io.ReadAll(lr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tail: %v", err)
	}
	if string(rest) != "r2\nr3\n" {
		t.Errorf("after the reconnect: %q, want r2 and r3", rest)
	}
}
