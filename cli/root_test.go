package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// invocation runs Main against buffers with its own config file, signed in
// to api when api is not empty.
func invocation(t *testing.T, api string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	if api != "" {
		raw, _ := json.Marshal(Config{API: api, Token: "tok", UserID: "u1"})
		if err := os.WriteFile(cfg, raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"RECORDER_CONFIG": cfg, "XDG_STATE_HOME": filepath.Join(dir, "state")}
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	return out.String(), errb.String(), code
}

func TestEveryCommandHasHelp(t *testing.T) {
	e := &env{}
	root := e.rootCmd()
	var names [][]string
	for _, c := range root.Commands() {
		names = append(names, []string{c.Name()})
		for _, sub := range c.Commands() {
			names = append(names, []string{c.Name(), sub.Name()})
		}
	}
	// Cobra adds these two when it runs.
	names = append(names, []string{"completion"}, []string{"completion", "bash"}, []string{"help"})
	if len(names) < 16 {
		t.Fatalf("only %d commands: %v", len(names), names)
	}
	for _, n := range names {
		out, errs, code := invocation(t, "", append(n, "--help")...)
		if code != ExitOK || !strings.Contains(out, "Usage:") || errs != "" {
			t.Errorf("%v --help: exit %d, stdout %q, stderr %q", n, code, out, errs)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, code := invocation(t, "", "--version")
	if code != ExitOK || !strings.HasPrefix(out, "recorder ") || !strings.Contains(out, "commit ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"ls", "--no-such-flag"},
		{"get"},
		{"get", "a", "b"},
		{"ls", "--status", "lost"},
		{"whoami", "extra"},
		{"--timeout", "0s", "whoami"},
		{"lss"},
		{"trash", "nope"},
	} {
		_, errs, code := invocation(t, "http://127.0.0.1:9", args...)
		if code != ExitUsage || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errs)
		}
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A refused connection fails at once (no silent retries), names the URL it
// tried and hints at `make run`; flags given after the command count.
func TestAPIDownIsOneLineAtOnce(t *testing.T) {
	api := "http://" + closedPort(t)
	start := time.Now()
	_, errs, code := invocation(t, api, "get", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "-o", "x.wav", "--api", api)
	want := "recorder get: cannot reach the API at " + api + ": refused the connection (is `make run` up?)\n"
	if code != ExitUnreachable || errs != want {
		t.Errorf("exit %d, stderr %q; want exit 4, %q", code, errs, want)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s to report a refused connection", d)
	}
}

// frozen is an API that accepts connections and never answers.
func frozen(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return "http://" + l.Addr().String()
}

func TestFrozenAPIGivesUpWithinTheTimeout(t *testing.T) {
	api := frozen(t)
	start := time.Now()
	_, errs, code := invocation(t, api, "whoami", "--timeout", "1s")
	elapsed := time.Since(start)
	want := "recorder whoami: the API at " + api + " did not answer within 1s (is `make run` up?); --timeout sets the wait\n"
	if code != ExitUnreachable || errs != want {
		t.Errorf("exit %d, stderr %q; want exit 4, %q", code, errs, want)
	}
	if elapsed < time.Second || elapsed > 3*time.Second {
		t.Errorf("gave up after %s, want about 1s", elapsed)
	}
}

func TestNotSignedInExitsThree(t *testing.T) {
	_, errs, code := invocation(t, "", "ls", "--api", "http://127.0.0.1:9")
	if code != ExitSignIn || !strings.Contains(errs, "not signed in to http://127.0.0.1:9") {
		t.Errorf("exit %d, %q", code, errs)
	}
}

func TestCompletionScriptsLoad(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, errs, code := invocation(t, "", "completion", shell)
		if code != ExitOK || !strings.Contains(out, "recorder") || errs != "" {
			t.Fatalf("completion %s: exit %d, %q", shell, code, errs)
		}
		if shell != "bash" {
			continue
		}
		script := filepath.Join(t.TempDir(), "recorder.bash")
		if err := os.WriteFile(script, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := exec.Command("bash", "--norc", "-c", "source "+script+" && complete -p recorder").CombinedOutput()
		if err != nil || !strings.Contains(string(got), "recorder") {
			t.Errorf("bash did not load the completion: %v\n%s", err, got)
		}
	}
}

// A malformed API address names where it came from, so the user knows what
// to fix: the variable, the flag or the config file of the last login.
func TestBadAPINamesItsSource(t *testing.T) {
	dir := t.TempDir()
	run := func(env map[string]string, args ...string) (string, int) {
		env["RECORDER_CONFIG"] = filepath.Join(dir, "config.json")
		var out, errb bytes.Buffer
		code := Main(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		return errb.String(), code
	}
	errs, code := run(map[string]string{"RECORDER_API": "127.0.0.1:38080"}, "ls")
	want := "recorder ls: RECORDER_API \"127.0.0.1:38080\" is not an http(s) URL (try http://127.0.0.1:38080)\n"
	if code != ExitUsage || errs != want {
		t.Errorf("from the variable: exit %d, %q; want exit 2, %q", code, errs, want)
	}
	errs, code = run(map[string]string{"RECORDER_API": "http://127.0.0.1:9"}, "ls", "--api", "localhost:1")
	want = "recorder ls: --api \"localhost:1\" is not an http(s) URL (try http://localhost:1)\n"
	if code != ExitUsage || errs != want {
		t.Errorf("from the flag: exit %d, %q; want exit 2, %q", code, errs, want)
	}
}
