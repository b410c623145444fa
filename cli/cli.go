// Package cli is the recorder command-line client. It behaves like the
// mobile app: it knows the public HTTP API and the presigned URLs the API
// hands out, and holds no storage or database credentials.
package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// DefaultAPI is the local stack that `make run` starts.
const DefaultAPI = "http://127.0.0.1:8080"

const usage = `usage: recorder [--api URL] [--verbose] <command> [arguments]

commands:
  login --dev USER                     sign in on the local stack as USER (dev issuer)
  login --provider P --id-token T      sign in with an ID token from Google, Apple, Kakao... (T "-" reads stdin)
  logout                               end the session
  whoami                               the signed-in account
  upload [--wait 2m] FILE...           upload recordings; prints each id once confirmed
  ls [--json] [--limit N] [--status S] list recordings, newest first
  get ID [-o FILE]                     download a recording (default: its original name)
  rename ID NAME                       rename a recording
  rm [--purge] ID...                   move recordings to the trash (--purge: delete for good)
  trash [--json]                       list the trash, with when each is purged
  restore ID...                        bring recordings back from the trash
  delete-account [--yes]               delete the account and everything in it

--api defaults to $RECORDER_API, then the API of the last login, then ` + DefaultAPI + `.
`

// env is one invocation's surroundings.
type env struct {
	ctx        context.Context
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	getenv     func(string) string
	configPath string
	config     Config
	api        *client
	progress   bool // stderr is a terminal
}

// Main runs one command line and returns the process's exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("recorder", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	apiFlag := fs.String("api", "", "API base URL")
	verbose := fs.Bool("verbose", false, "log each request")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, progress: isTerminal(stderr)}
	if err := e.setup(*apiFlag, *verbose); err != nil {
		fmt.Fprintln(stderr, "recorder:", err)
		return 1
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	commands := map[string]func([]string) error{
		"login": e.login, "logout": e.logout, "whoami": e.whoami, "upload": e.upload, "ls": e.ls,
		"get": e.get, "rename": e.rename, "rm": e.rm, "delete-account": e.deleteAccount,
		"trash": e.trash, "restore": e.restore,
	}
	run, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "recorder: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if err := run(rest); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "recorder %s: %s\n", cmd, ue)
			return 2
		}
		fmt.Fprintf(stderr, "recorder %s: %s\n", cmd, err)
		return 1
	}
	return 0
}

type usageError string

func (u usageError) Error() string { return string(u) }

func (e *env) setup(apiFlag string, verbose bool) error {
	path, err := configPath(e.getenv)
	if err != nil {
		return err
	}
	e.configPath = path
	if e.config, err = loadConfig(path); err != nil {
		return err
	}
	base := apiFlag
	for _, v := range []string{e.getenv("RECORDER_API"), e.config.API, DefaultAPI} {
		if base == "" {
			base = v
		}
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--api %q is not an http(s) URL", base)
	}
	e.api = &client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 0}}
	// A session belongs to the API that issued it.
	if e.config.API == e.api.base {
		e.api.token = e.config.Token
	}
	if verbose {
		e.api.verbose = e.stderr
	}
	return nil
}

// flags parses flags that may come before, between or after positional
// arguments (`get ID -o FILE`), and returns the positional ones.
func flags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError(err.Error())
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (e *env) needSession() error {
	if e.api.token == "" {
		return errors.New("not signed in to " + e.api.base + ": run `recorder login` first")
	}
	return nil
}

// --- login, logout, whoami

func (e *env) login(args []string) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	dev := fs.String("dev", "", "sign in on the local stack as this user")
	issuer := fs.String("dev-issuer", "", "the local stack's development issuer (default $RECORDER_DEV_ISSUER or http://127.0.0.1:8082)")
	provider := fs.String("provider", "", "identity provider: google, apple, kakao, ...")
	idToken := fs.String("id-token", "", "an ID token from that provider, or - to read it from stdin")
	nonce := fs.String("nonce", "", "the nonce (from POST /v1/auth/nonce) the ID token was requested with, if any")
	if pos, err := flags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError("unexpected argument " + pos[0])
	}
	switch {
	case *dev != "" && *idToken == "":
		iss := *issuer
		for _, v := range []string{e.getenv("RECORDER_DEV_ISSUER"), "http://127.0.0.1:8082"} {
			if iss == "" {
				iss = v
			}
		}
		tok, err := devToken(e.ctx, iss, *dev)
		if err != nil {
			return err
		}
		*idToken = tok
		if *provider == "" {
			*provider = "dev"
		}
	case *idToken == "-":
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the ID token from stdin: %w", err)
		}
		*idToken = strings.TrimSpace(line)
	}
	if *provider == "" || *idToken == "" {
		return usageError("give --dev USER for the local stack, or --provider and --id-token")
	}
	body := map[string]string{"provider": *provider, "id_token": *idToken}
	if *nonce != "" {
		body["nonce"] = *nonce
	}
	var out struct {
		AccessToken string    `json:"access_token"`
		ExpiresAt   time.Time `json:"expires_at"`
		Created     bool      `json:"created"`
		User        user      `json:"user"`
	}
	e.api.token = ""
	if err := retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodPost, "/v1/auth/login", nil, body, &out)
	}); err != nil {
		return err
	}
	e.config = Config{API: e.api.base, Token: out.AccessToken, UserID: out.User.ID, ExpiresAt: out.ExpiresAt}
	if err := saveConfig(e.configPath, e.config); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	verb := "signed in"
	if out.Created {
		verb = "signed up"
	}
	fmt.Fprintf(e.stderr, "%s as %s (user %s) at %s; session until %s\n", verb, describe(out.User), out.User.ID,
		e.api.base, out.ExpiresAt.Local().Format("2006-01-02 15:04"))
	return nil
}

// devToken asks the local stack's development issuer for an ID token.
func devToken(ctx context.Context, issuer, sub string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(issuer, "/")+"/token?sub="+url.QueryEscape(sub), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("development issuer at %s unreachable (is `make run` up?): %w", issuer, scrub(err))
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.IDToken == "" {
		return "", fmt.Errorf("development issuer at %s: HTTP %d %s", issuer, resp.StatusCode, out.Error)
	}
	return out.IDToken, nil
}

func describe(u user) string {
	switch {
	case u.Email != "":
		return u.Email
	case u.Name != "":
		return u.Name
	}
	return strings.Join(u.Providers, ", ")
}

func (e *env) logout(args []string) error {
	if len(args) > 0 {
		return usageError("logout takes no arguments")
	}
	if e.api.token == "" {
		fmt.Fprintln(e.stderr, "not signed in")
		return nil
	}
	err := e.api.call(e.ctx, http.MethodPost, "/v1/auth/logout", nil, nil, nil)
	var ae *APIError
	if err != nil && !(errors.As(err, &ae) && ae.Status == http.StatusUnauthorized) {
		return err // the session still stands; keep it so logout can be retried
	}
	e.config.Token, e.config.UserID, e.config.ExpiresAt = "", "", time.Time{}
	if err := saveConfig(e.configPath, e.config); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "signed out")
	return nil
}

func (e *env) whoami(args []string) error {
	if len(args) > 0 {
		return usageError("whoami takes no arguments")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	var u user
	if err := retrying(e.ctx, func() error { return e.api.call(e.ctx, http.MethodGet, "/v1/me", nil, nil, &u) }); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\t%s\t%d recordings\t%s\t%s\n", u.ID, describe(u), u.RecordingCount, humanBytes(u.BytesStored), e.api.base)
	return nil
}

// --- upload

func (e *env) upload(args []string) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for each upload to be confirmed")
	files, err := flags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError("upload FILE...")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	failed := 0
	for _, path := range files {
		id, err := e.uploadOne(path, *wait)
		if err != nil && len(files) == 1 {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "recorder upload: %s: %v\n", path, err)
			continue
		}
		fmt.Fprintln(e.stdout, id)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files not uploaded", failed, len(files))
	}
	return nil
}

func (e *env) uploadOne(path string, wait time.Duration) (_ string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	ctype, err := detectType(path, f)
	if err != nil {
		return "", err
	}
	// The digest is signed into the upload URL: storage itself refuses a
	// body that changed on disk or on the way.
	digest, err := fileSHA256(f, st.Size())
	if err != nil {
		return "", err
	}
	// One key for every attempt of this file, in this run and in the next
	// one after an interruption (see resumeState): a create whose answer
	// was lost, or an upload URL that expired, gets the same recording back.
	state, err := e.resumeState(path, st, digest)
	if err != nil {
		// No place for the state (no home, a read-only disk): upload all
		// the same, without resuming.
		fmt.Fprintf(e.stderr, "recorder upload: %s cannot be resumed if interrupted: %v\n", filepath.Base(path), err)
		state, err = newUploadState(), nil
	}
	defer func() {
		if !keepFor(err) {
			state.forget()
		}
	}()
	hdr := http.Header{"Idempotency-Key": {state.IdempotencyKey}}
	body := map[string]any{"file_name": filepath.Base(path), "content_type": ctype, "size_bytes": st.Size(), "sha256": digest}
	var created struct {
		Recording recordingDoc `json:"recording"`
		Upload    signed       `json:"upload"`
	}
	create := func() error {
		return retrying(e.ctx, func() error {
			return e.api.call(e.ctx, http.MethodPost, "/v1/recordings", hdr, body, &created)
		})
	}
	if err = create(); err != nil {
		return "", err
	}
	if created.Upload.Method == "MULTIPART" && created.Recording.Status == "pending" {
		var done recordingDoc
		if done, err = e.uploadParts(created.Recording.ID, created.Upload, f, st.Size(), filepath.Base(path)); err != nil {
			return "", err
		}
		if done.Status == "rejected" {
			err = fmt.Errorf("storage refused the upload of %s: %s", done.ID, done.RejectReason)
			return "", err
		}
		err = e.waitConfirmed(created.Recording.ID, wait)
		return created.Recording.ID, err
	}
	if created.Upload.URL == "" {
		// A replay of a recording already uploaded, or whose window is over.
		if created.Recording.Status == "available" {
			return created.Recording.ID, nil
		}
		return "", fmt.Errorf("the upload window of recording %s is over; upload the file again", created.Recording.ID)
	}
	bar := e.newBar(st.Size(), filepath.Base(path))
	for n := 1; ; n++ {
		err = e.put(created.Upload, f, st.Size(), bar)
		if err == nil {
			break
		}
		var ae *APIError
		expired := errors.As(err, &ae) && ae.Status == http.StatusForbidden && time.Now().After(created.Upload.ExpiresAt.Add(-time.Minute))
		if n == maxAttempts || !(transient(err) || expired) {
			bar.abort()
			return "", fmt.Errorf("upload to storage: %w", err)
		}
		if expired {
			if err := create(); err != nil { // a fresh URL for the same recording
				bar.abort()
				return "", err
			}
			if created.Upload.URL == "" {
				bar.abort()
				return "", fmt.Errorf("the upload window of recording %s is over; upload the file again", created.Recording.ID)
			}
		}
		select {
		case <-e.ctx.Done():
			return "", e.ctx.Err()
		case <-time.After(retryDelay(err, n)):
		}
	}
	bar.done()
	return created.Recording.ID, e.waitConfirmed(created.Recording.ID, wait)
}

// fileSHA256 is the base64 SHA-256 of the file's first size bytes, read
// as a stream.
func fileSHA256(f *os.File, size int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size)); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// put streams the file to storage: the body is read from disk as it is
// sent, so memory stays flat whatever the size.
func (e *env) put(up signed, f *os.File, size int64, bar *bar) error {
	bar.reset()
	return e.presignedPUT(e.ctx, up.URL, up.Headers, io.TeeReader(io.NewSectionReader(f, 0, size), bar), size, "")
}

// presignedPUT sends length bytes of body to a presigned URL with exactly
// the headers it was signed with; what names the request in --verbose.
func (e *env) presignedPUT(ctx context.Context, url string, headers map[string]string, body io.Reader, length int64, what string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, body)
	if err != nil {
		return scrub(err)
	}
	req.ContentLength = length
	for k, v := range headers {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	start := time.Now()
	resp, err := e.api.http.Do(req)
	if err != nil {
		return scrub(err)
	}
	defer resp.Body.Close()
	e.api.logf("PUT %s%s (presigned) -> %d (%s)", hostOf(url), what, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		// Storage answers in XML; its status is what matters here.
		return &APIError{Status: resp.StatusCode, Title: storageMessage(raw, resp.Status)}
	}
	return nil
}

func storageMessage(raw []byte, status string) string {
	s := string(raw)
	if i, j := strings.Index(s, "<Message>"), strings.Index(s, "</Message>"); i >= 0 && j > i {
		return "storage: " + s[i+len("<Message>"):j]
	}
	return "storage: " + status
}

// waitConfirmed polls until the events handler has confirmed the upload.
func (e *env) waitConfirmed(id string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for {
		var rec recordingDoc
		err := e.api.call(e.ctx, http.MethodGet, "/v1/recordings/"+id, nil, nil, &rec)
		var ae *APIError
		switch {
		case err == nil && rec.Status == "available":
			return nil
		case err == nil && rec.Status == "rejected":
			return fmt.Errorf("storage refused the upload of %s: %s", id, rec.RejectReason)
		case err != nil && !(errors.As(err, &ae) && ae.Code == "not_uploaded") && !transient(err):
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s uploaded but not confirmed within %s; check later with `recorder ls --status pending`", id, wait)
		}
		select {
		case <-e.ctx.Done():
			return e.ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// --- ls

func (e *env) ls(args []string) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	limit := fs.Int("limit", 0, "at most this many (default: all)")
	status := fs.String("status", "available", "available, pending, rejected or deleted")
	if pos, err := flags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError("unexpected argument " + pos[0])
	}
	if *limit < 0 {
		return usageError("--limit must be positive")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	items := []recordingDoc{}
	cursor := ""
	for {
		page := min(100, *limit-len(items))
		if *limit == 0 {
			page = 100
		}
		q := url.Values{"limit": {strconv.Itoa(page)}, "status": {*status}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var out struct {
			Items      []recordingDoc `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		if err := retrying(e.ctx, func() error {
			return e.api.call(e.ctx, http.MethodGet, "/v1/recordings?"+q.Encode(), nil, nil, &out)
		}); err != nil {
			return err
		}
		items = append(items, out.Items...)
		cursor = out.NextCursor
		if cursor == "" || (*limit > 0 && len(items) >= *limit) {
			break
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSIZE\tDURATION\tSTATUS\tDATE")
	for _, r := range items {
		dur := "-"
		if r.DurationMS != nil {
			dur = (time.Duration(*r.DurationMS) * time.Millisecond).Round(time.Second).String()
		}
		date := r.CreatedAt
		if r.RecordedAt != nil {
			date = *r.RecordedAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.FileName, humanBytes(r.SizeBytes), dur, r.Status,
			date.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// --- get

func (e *env) get(args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	out := fs.String("o", "", "write to this file (default: the recording's name, in the current directory)")
	pos, err := flags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("get ID [-o FILE]")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	var rec recordingDoc
	if err := retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodGet, "/v1/recordings/"+url.PathEscape(pos[0]), nil, nil, &rec)
	}); err != nil {
		return notFoundAs(err, pos[0])
	}
	if rec.Download == nil {
		return fmt.Errorf("%s is %s, nothing to download", rec.ID, rec.Status)
	}
	target := *out
	if target == "" {
		// The server refuses names with path separators; Base is a second fence.
		target = filepath.Base(rec.FileName)
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("%s already exists; choose another name with -o", target)
		}
	}
	if err := retrying(e.ctx, func() error { return e.download(rec, target) }); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, target)
	return nil
}

func (e *env) download(rec recordingDoc, target string) error {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, rec.Download.URL, nil)
	if err != nil {
		return scrub(err)
	}
	resp, err := e.api.http.Do(req)
	if err != nil {
		return scrub(err)
	}
	defer resp.Body.Close()
	e.api.logf("GET %s (presigned) -> %d", hostOf(rec.Download.URL), resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return &APIError{Status: resp.StatusCode, Title: storageMessage(raw, resp.Status)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".recorder-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bar := e.newBar(rec.SizeBytes, rec.FileName)
	n, err := io.Copy(io.MultiWriter(tmp, bar), resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		bar.abort()
		return fmt.Errorf("download: %w", err)
	}
	if n != rec.SizeBytes {
		bar.abort()
		return fmt.Errorf("download ended after %d of %d bytes", n, rec.SizeBytes)
	}
	bar.done()
	return os.Rename(tmp.Name(), target)
}

// notFoundAs names the id in a 404, which is the same for "never existed"
// and "someone else's".
func notFoundAs(err error, id string) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return fmt.Errorf("no recording %s", id)
	}
	return err
}

// --- rename, rm, delete-account

func (e *env) rename(args []string) error {
	if len(args) != 2 {
		return usageError("rename ID NAME")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	var rec recordingDoc
	err := retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodPatch, "/v1/recordings/"+url.PathEscape(args[0]), nil,
			map[string]string{"file_name": args[1]}, &rec)
	})
	if err != nil {
		return notFoundAs(err, args[0])
	}
	fmt.Fprintf(e.stdout, "%s\t%s\n", rec.ID, rec.FileName)
	return nil
}

func (e *env) rm(args []string) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	purge := fs.Bool("purge", false, "delete for good instead of moving to the trash")
	args, err := flags(fs, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError("rm [--purge] ID...")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	query, done := "", "moved to the trash"
	if *purge {
		query, done = "?purge=true", "deleted"
	}
	failed := 0
	for _, id := range args {
		err := retrying(e.ctx, func() error {
			return e.api.call(e.ctx, http.MethodDelete, "/v1/recordings/"+url.PathEscape(id)+query, nil, nil, nil)
		})
		if err != nil && len(args) == 1 {
			return notFoundAs(err, id)
		}
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "recorder rm: %v\n", notFoundAs(err, id))
			continue
		}
		fmt.Fprintf(e.stderr, "%s %s\n", done, id)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d not deleted", failed, len(args))
	}
	return nil
}

// trash lists the recordings in the trash: ls --status deleted.
func (e *env) trash(args []string) error {
	for _, a := range args {
		if a == "--status" || strings.HasPrefix(a, "--status=") {
			return usageError("trash takes no --status")
		}
	}
	return e.ls(append([]string{"--status", "deleted"}, args...))
}

func (e *env) restore(args []string) error {
	if len(args) == 0 {
		return usageError("restore ID...")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	for _, id := range args {
		err := retrying(e.ctx, func() error {
			return e.api.call(e.ctx, http.MethodPost, "/v1/recordings/"+url.PathEscape(id)+"/restore", nil, nil, nil)
		})
		if err != nil {
			return notFoundAs(err, id)
		}
		fmt.Fprintf(e.stderr, "restored %s\n", id)
	}
	return nil
}

func (e *env) deleteAccount(args []string) error {
	fs := flag.NewFlagSet("delete-account", flag.ContinueOnError)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if pos, err := flags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError("unexpected argument " + pos[0])
	}
	if err := e.needSession(); err != nil {
		return err
	}
	if !*yes {
		fmt.Fprintf(e.stderr, "This deletes account %s and every recording in it, for good. Type \"delete\" to confirm: ", e.config.UserID)
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if strings.TrimSpace(line) != "delete" {
			return errors.New("not confirmed; nothing was deleted")
		}
	}
	if err := retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodDelete, "/v1/me", nil, nil, nil)
	}); err != nil {
		return err
	}
	e.config.Token, e.config.UserID, e.config.ExpiresAt = "", "", time.Time{}
	if err := saveConfig(e.configPath, e.config); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "account deleted")
	return nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
