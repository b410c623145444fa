package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

// DefaultAPI is the local stack that `make run` starts.
const DefaultAPI = "http://127.0.0.1:8080"

// Exit codes, documented in docs/cli.md.
const (
	ExitOK          = 0
	ExitFailed      = 1 // the command failed, or some of its files did
	ExitUsage       = 2 // the command line is wrong
	ExitSignIn      = 3 // not signed in, or the session expired
	ExitUnreachable = 4 // the API or storage did not answer
)

// version and commit are set by the linker (-X); without them the build
// information the Go tool records is used.
var version, commit string

// env is one invocation's surroundings.
type env struct {
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	getenv     func(string) string
	configPath string
	config     Config
	api        *client.Client
	progress   bool // stderr is a terminal
	overall    *progressbar.ProgressBar

	apiFrom string // where the API address came from: "--api", "RECORDER_API", ...

	// global flags
	apiFlag string
	verbose bool
	timeout time.Duration
}

// Main runs one command line and returns the process's exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, progress: isTerminal(stderr)}
	root := e.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	err = unknownCommand(err)
	name := "recorder"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	code := exitCode(err)
	msg := err.Error()
	if code == ExitSignIn && e.api != nil {
		msg = strings.ReplaceAll(msg, "`recorder login`", "`"+e.loginCommand(ctx)+"`")
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, msg)
	return code
}

// loginCommand is the exact sign-in command for the API in use: a bare
// `recorder login` is only a usage error. It asks the API which providers
// it accepts; when that fails too, the generic form has to do.
func (e *env) loginCommand(ctx context.Context) string {
	cmd := "recorder login"
	if e.apiFrom == "--api" {
		cmd += " --api " + e.api.Base()
	}
	providers, err := e.api.Providers(ctx)
	if err != nil || len(providers) == 0 {
		return cmd + " --provider P --id-token -"
	}
	var names []string
	for _, p := range providers {
		if p.Development {
			return cmd + " --dev USER"
		}
		// A name goes into a command a person may paste: only a plain one.
		if p.Name != "" && strings.Trim(p.Name, "abcdefghijklmnopqrstuvwxyz0123456789-_") == "" {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		names = []string{"P"}
	}
	return cmd + " --provider " + strings.Join(names, "|") + " --id-token -"
}

// unknownCommand turns cobra's several-line "unknown command" error (its
// only error without a type) into one usage line that keeps the suggestion.
func unknownCommand(err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "unknown command ") {
		return err
	}
	lines := strings.Split(msg, "\n")
	var near []string
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "\t") {
			near = append(near, strings.TrimSpace(l))
		}
	}
	line := lines[0]
	if len(near) > 0 {
		line += "; did you mean " + strings.Join(near, " or ") + "?"
	} else {
		line += "; `recorder --help` lists the commands"
	}
	return usageError(line)
}

func exitCode(err error) int {
	var (
		ue  usageError
		unr *client.UnreachableError
		te  *client.TimeoutError
	)
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, errNotSignedIn), client.IsStatus(err, http.StatusUnauthorized):
		return ExitSignIn
	case errors.As(err, &unr), errors.As(err, &te):
		return ExitUnreachable
	}
	return ExitFailed
}

func (e *env) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "recorder",
		Short: "Back up, list and play voice recordings through the recorder API",
		Long: `recorder is the command-line client of the recorder backend. It speaks only the
public API and the presigned URLs the API hands out, exactly as the app does.

--api defaults to $RECORDER_API, then the API of the last login, then ` + DefaultAPI + `.
Exit codes: 0 done, 1 failed, 2 wrong usage, 3 not signed in or session expired,
4 the API or storage did not answer.`,
		Version:           versionString(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Name() == "completion" || (cmd.Parent() != nil && cmd.Parent().Name() == "completion") ||
				cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
				return nil
			}
			return e.setup()
		},
	}
	root.SetVersionTemplate("recorder {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err.Error()) })
	pf := root.PersistentFlags()
	pf.StringVar(&e.apiFlag, "api", "", "API base URL")
	pf.BoolVarP(&e.verbose, "verbose", "v", false, "log each request and retry to stderr")
	pf.DurationVar(&e.timeout, "timeout", client.DefaultTimeout, "give up when the network is silent this long (connect, answer, any pause in a transfer)")
	root.AddCommand(
		newLoginCommand(e), newLogoutCommand(e), newWhoamiCommand(e), newUploadCommand(e), newLsCommand(e), newGetCommand(e),
		newRenameCommand(e), newRmCommand(e), newTrashCommand(e), newDeleteAccountCommand(e),
		newBackupCommand(e), newRestoreCommand(e),
		newSessionsCommand(e),
		newSearchCommand(e),
	)
	root.AddCommand(newShareCommand(e), newSharesCommand(e), newUnshareCommand(e))
	root.AddCommand(newTranscriptCommand(e))
	root.AddCommand(newExportCommand(e))
	root.AddCommand(newSyncCommand(e))
	return root
}

// args checks the number of positional arguments, as a usage error.
func args(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		switch {
		case len(a) < lo:
			return usageError("missing arguments; usage: " + cmd.UseLine())
		case hi >= 0 && len(a) > hi:
			return usageError(fmt.Sprintf("unexpected argument %q; usage: %s", a[hi], cmd.UseLine()))
		}
		return nil
	}
}

func versionString() string {
	v, c := version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("%s (commit %s)", v, c)
}

func (e *env) setup() error {
	path, err := configPath(e.getenv)
	if err != nil {
		return err
	}
	e.configPath = path
	if e.config, err = loadConfig(path); err != nil {
		return err
	}
	if e.timeout <= 0 {
		return usageError("--timeout must be positive")
	}
	// The error names where the address came from: that is what to fix.
	base, from := "", ""
	for _, c := range []struct{ v, from string }{
		{e.apiFlag, "--api"}, {e.getenv("RECORDER_API"), "RECORDER_API"},
		{e.config.API, "the API of the last login in " + e.configPath}, {DefaultAPI, "the default API"},
	} {
		if base == "" && c.v != "" {
			base, from = c.v, c.from
		}
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		msg := fmt.Sprintf("%s %q is not an http(s) URL", from, base)
		if !strings.Contains(base, "://") {
			msg += " (try http://" + base + ")"
		}
		return usageError(msg)
	}
	o := client.Options{Timeout: e.timeout, UserAgent: userAgent()}
	if e.verbose {
		o.Log = e.stderr
	}
	e.api, e.apiFrom = client.New(base, o), from
	// A session belongs to the API that issued it.
	if e.config.API == e.api.Base() {
		e.api.SetToken(e.config.Token)
		e.keepRefreshing()
	}
	return nil
}

func (e *env) needSession() error {
	if e.api.Token() == "" {
		return fmt.Errorf("%w to %s: run `recorder login` first", errNotSignedIn, e.api.Base())
	}
	return nil
}
