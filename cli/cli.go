// Package cli is the recorder command-line client. It behaves like the
// mobile app: it knows the public HTTP API and the presigned URLs the API
// hands out, and holds no storage or database credentials.
package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// --- login, logout, whoami

func (e *env) loginCmd() *cobra.Command {
	var o loginOpts
	c := &cobra.Command{
		Use:   "login (--dev USER | --provider P --id-token T)",
		Short: "Sign in: as USER on the local stack, or with an ID token from Google, Apple, Kakao...",
		Example: `  recorder login --dev alice
  recorder login --provider google --id-token - < token.txt`,
		Args: args(0, 0),
		RunE: func(*cobra.Command, []string) error { return e.login(o) },
	}
	f := c.Flags()
	f.StringVar(&o.dev, "dev", "", "sign in on the local stack as this user, through the API's development issuer")
	f.StringVar(&o.devIssuer, "dev-issuer", "", "the development issuer's base URL, when the API does not list one ($RECORDER_DEV_ISSUER)")
	f.StringVar(&o.provider, "provider", "", "identity provider: google, apple, kakao, ...")
	f.StringVar(&o.idToken, "id-token", "", "an ID token from that provider, or - to read it from stdin")
	f.StringVar(&o.nonce, "nonce", "", "the nonce (from POST /v1/auth/nonce) the ID token was requested with, if any")
	_ = c.RegisterFlagCompletionFunc("provider", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"google", "apple", "kakao", "dev"}, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

type loginOpts struct{ dev, devIssuer, provider, idToken, nonce string }

func (e *env) login(o loginOpts) error {
	switch {
	case o.dev != "" && o.idToken == "":
		url, err := e.devTokenURL(o.devIssuer)
		if err != nil {
			return err
		}
		tok, err := e.devToken(url, o.dev)
		if err != nil {
			return err
		}
		o.idToken = tok
		if o.provider == "" {
			o.provider = "dev"
		}
	case o.idToken == "-":
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the ID token from stdin: %w", err)
		}
		o.idToken = strings.TrimSpace(line)
	}
	if o.provider == "" || o.idToken == "" {
		return usageError("give --dev USER for the local stack, or --provider and --id-token")
	}
	body := map[string]string{"provider": o.provider, "id_token": o.idToken}
	if o.nonce != "" {
		body["nonce"] = o.nonce
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
	who := describe(out.User)
	if who == "" {
		who = o.dev // the dev issuer's tokens carry no email or name
	}
	if who == "" {
		who = "user " + out.User.ID
	}
	fmt.Fprintf(e.stderr, "%s as %s with %s (user %s) at %s; session until %s\n", verb, who, o.provider, out.User.ID,
		e.api.base, out.ExpiresAt.Local().Format("2006-01-02 15:04"))
	return nil
}

// devTokenURL finds the development issuer through the API, so the CLI
// follows the API to whatever port it runs on; --dev-issuer or
// $RECORDER_DEV_ISSUER name one the API does not list.
func (e *env) devTokenURL(flag string) (string, error) {
	for _, v := range []string{flag, e.getenv("RECORDER_DEV_ISSUER")} {
		if v != "" {
			return strings.TrimRight(v, "/") + "/token", nil
		}
	}
	var out struct {
		Providers []struct {
			Name        string `json:"name"`
			Development bool   `json:"development"`
			TokenURL    string `json:"token_url"`
		} `json:"providers"`
	}
	if err := retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodGet, "/v1/auth/providers", nil, nil, &out)
	}); err != nil {
		return "", err
	}
	for _, p := range out.Providers {
		if p.Development && p.TokenURL != "" {
			return p.TokenURL, nil
		}
	}
	return "", fmt.Errorf("the API at %s has no development issuer (only a local stack has one); sign in with --provider and --id-token", e.api.base)
}

// devToken asks the local stack's development issuer for an ID token.
func (e *env) devToken(tokenURL, sub string) (string, error) {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, tokenURL+"?sub="+url.QueryEscape(sub), nil)
	if err != nil {
		return "", err
	}
	issuer := tokenURL
	if u, err := url.Parse(tokenURL); err == nil {
		issuer = u.Scheme + "://" + u.Host
	}
	resp, err := e.api.http.Do(req)
	if err != nil {
		return "", unreachable("the development issuer", issuer, e.timeout, err)
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
	return ""
}

func (e *env) logoutCmd() *cobra.Command {
	return &cobra.Command{Use: "logout", Short: "End the session", Args: args(0, 0),
		RunE: func(*cobra.Command, []string) error { return e.logout() }}
}

func (e *env) logout() error {
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

func (e *env) whoamiCmd() *cobra.Command {
	return &cobra.Command{Use: "whoami", Short: "The signed-in account and its quota", Args: args(0, 0),
		RunE: func(*cobra.Command, []string) error { return e.whoami() }}
}

func (e *env) whoami() error {
	if err := e.needSession(); err != nil {
		return err
	}
	u, err := e.me()
	if err != nil {
		return err
	}
	who := describe(u)
	if who == "" {
		who = strings.Join(u.Providers, ", ")
	}
	q := u.Quota
	fmt.Fprintf(e.stdout, "user        %s (%s)\napi         %s\nrecordings  %d of %s\nstorage     %s used, %s reserved for uploads in progress, of %s (%s free)\nuploads     %d in progress, at most %d at once\n",
		u.ID, who, e.api.base, u.RecordingCount, limitText(q.RecordingsLimit),
		humanBytes(q.BytesUsed), humanBytes(q.BytesReserved), humanBytes(q.BytesLimit),
		humanBytes(max(0, q.BytesLimit-q.BytesUsed-q.BytesReserved)), q.UploadsInFlight, q.UploadsInFlightLimit)
	return nil
}

func (e *env) me() (user, error) {
	var u user
	err := retrying(e.ctx, func() error { return e.api.call(e.ctx, http.MethodGet, "/v1/me", nil, nil, &u) })
	return u, err
}

func limitText(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}

// --- upload

func (e *env) uploadCmd() *cobra.Command {
	var wait time.Duration
	c := &cobra.Command{
		Use:   "upload FILE...",
		Short: "Upload recordings; prints NAME, ID and STATUS for each file once confirmed",
		Long: `Upload recordings, one after the other, each streamed from disk. An interrupted
upload resumes when the same command runs again. For a whole folder, use backup.`,
		Args: args(1, -1),
		RunE: func(_ *cobra.Command, files []string) error { return e.upload(files, wait) },
	}
	c.Flags().DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for each upload to be confirmed")
	return c
}

func (e *env) upload(files []string, wait time.Duration) error {
	if err := e.needSession(); err != nil {
		return err
	}
	if len(files) == 1 {
		rec, err := e.uploadOne(files[0], "", wait)
		if err != nil {
			return fmt.Errorf("%s: %w", files[0], err)
		}
		return e.printTable([]string{"NAME", "ID", "STATUS"}, [][]string{{files[0], rec.ID, rec.Status}})
	}
	var rows [][]string
	failed := 0
	var lastErr error
	for _, path := range files {
		rec, err := e.uploadOne(path, "", wait)
		if err != nil {
			failed++
			lastErr = err
			fmt.Fprintf(e.stderr, "recorder upload: %s: %v\n", path, err)
			id := rec.ID
			if id == "" {
				id = "-"
			}
			rows = append(rows, []string{path, id, "failed"})
			continue
		}
		rows = append(rows, []string{path, rec.ID, rec.Status})
	}
	if err := e.printTable([]string{"NAME", "ID", "STATUS"}, rows); err != nil {
		return err
	}
	if failed > 0 {
		return &batchError{n: failed, of: len(files), verb: "uploaded", last: lastErr}
	}
	return nil
}

// batchError is a run where some files failed (each was reported on its
// own line); its exit code is the one of the last failure.
type batchError struct {
	n, of int
	verb  string
	last  error
}

func (b *batchError) Error() string { return fmt.Sprintf("%d of %d files not %s", b.n, b.of, b.verb) }
func (b *batchError) Unwrap() error { return b.last }

var errEmpty = errors.New("the file is empty; there is nothing to upload")

// uploadOne uploads one file and waits for its confirmation. digest is the
// file's base64 SHA-256 when the caller already computed it. The returned
// recording has its id whenever the API created one, even on failure.
func (e *env) uploadOne(path, digest string, wait time.Duration) (rec recordingDoc, err error) {
	f, err := os.Open(path)
	if err != nil {
		return rec, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return rec, err
	}
	if !st.Mode().IsRegular() {
		return rec, errors.New("not a regular file")
	}
	if st.Size() == 0 {
		return rec, errEmpty
	}
	ctype, err := detectType(path, f)
	if err != nil {
		return rec, err
	}
	// The digest is signed into the upload URL: storage itself refuses a
	// body that changed on disk or on the way.
	if digest == "" {
		if digest, err = fileSHA256(f, st.Size()); err != nil {
			return rec, err
		}
	}
	// One key for every attempt of this file, in this run and in the next
	// one after an interruption (see resumeState): a create whose answer
	// was lost, or an upload URL that expired, gets the same recording back.
	state, err := e.resumeState(path, st, digest)
	if err != nil {
		// No place for the state (no home, a read-only disk): upload all
		// the same, without resuming.
		fmt.Fprintf(e.stderr, "recorder: %s cannot be resumed if interrupted: %v\n", filepath.Base(path), err)
		state, err = newUploadState(), nil
	}
	defer func() {
		if !keepFor(err) {
			state.forget()
		}
	}()
	hdr := http.Header{"Idempotency-Key": {state.IdempotencyKey}}
	body := map[string]any{"file_name": filepath.Base(path), "content_type": ctype, "size_bytes": st.Size(), "sha256": digest}
	if at, ok := recordedAt(st.ModTime(), time.Now()); ok {
		body["recorded_at"] = at
	}
	var created struct {
		Recording recordingDoc `json:"recording"`
		Upload    signed       `json:"upload"`
	}
	create := func() error {
		err := retrying(e.ctx, func() error {
			return e.api.call(e.ctx, http.MethodPost, "/v1/recordings", hdr, body, &created)
		})
		return e.explainQuota(err, st.Size())
	}
	if err = create(); err != nil {
		return rec, err
	}
	rec = created.Recording
	if !validID(rec.ID) {
		// The id goes into every later request's path.
		err = fmt.Errorf("the server answered an invalid recording id %q", rec.ID)
		rec.ID = ""
		return rec, err
	}
	confirmed := func(err error) (recordingDoc, error) {
		if err != nil {
			return rec, err
		}
		return e.waitConfirmed(rec, wait)
	}
	if created.Upload.Method == "MULTIPART" && created.Recording.Status == "pending" {
		var done recordingDoc
		if done, err = e.uploadParts(rec.ID, created.Upload, f, st.Size(), filepath.Base(path)); err != nil {
			return rec, err
		}
		if done.Status == "rejected" {
			rec = done
			err = rejected(done)
			return rec, err
		}
		rec, err = confirmed(nil)
		return rec, err
	}
	if created.Upload.URL == "" {
		// A replay of a recording already uploaded, or whose window is over.
		if rec.Status == "available" {
			return rec, nil
		}
		if rec.Status == "rejected" {
			err = rejected(rec)
			return rec, err
		}
		err = fmt.Errorf("the upload window of recording %s is over; upload the file again", rec.ID)
		return rec, err
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
			return rec, err
		}
		if expired {
			if err = create(); err != nil { // a fresh URL for the same recording
				bar.abort()
				return rec, err
			}
			if created.Upload.URL == "" {
				bar.abort()
				err = fmt.Errorf("the upload window of recording %s is over; upload the file again", rec.ID)
				return rec, err
			}
		}
		select {
		case <-e.ctx.Done():
			err = e.ctx.Err()
			return rec, err
		case <-time.After(retryDelay(err, n)):
		}
	}
	bar.done()
	rec, err = confirmed(nil)
	return rec, err
}

func rejected(rec recordingDoc) error {
	reason := rec.RejectReason
	if rec.RejectDetail != "" {
		reason += ": " + rec.RejectDetail
	}
	if rec.RejectReason == "not_audio" || strings.Contains(rec.RejectReason, "audio") {
		return fmt.Errorf("not audio: the server could not read %s as audio (%s)", rec.FileName, reason)
	}
	return fmt.Errorf("refused by the server: %s", reason)
}

// explainQuota turns a quota refusal into the numbers a person can act on,
// read from /v1/me, in human units.
func (e *env) explainQuota(err error, size int64) error {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "quota_exceeded" {
		return err
	}
	u, merr := e.me()
	if merr != nil {
		return err
	}
	q := u.Quota
	switch {
	case q.BytesLimit > 0 && q.BytesUsed+q.BytesReserved+size > q.BytesLimit:
		return fmt.Errorf("quota full: %s used and %s reserved for uploads in progress, of %s; this file needs %s (free space with `recorder rm --purge` or empty the trash)",
			humanBytes(q.BytesUsed), humanBytes(q.BytesReserved), humanBytes(q.BytesLimit), humanBytes(size))
	case q.UploadsInFlightLimit > 0 && q.UploadsInFlight >= q.UploadsInFlightLimit:
		return fmt.Errorf("too many uploads in progress: %d of at most %d; let them finish or wait for the unfinished ones to expire", q.UploadsInFlight, q.UploadsInFlightLimit)
	case q.RecordingsLimit > 0 && u.RecordingCount >= q.RecordingsLimit:
		return fmt.Errorf("recording limit reached: %d of %d recordings", u.RecordingCount, q.RecordingsLimit)
	}
	return err
}

// Modification times the API takes as recorded_at: from 1970 to two days
// ahead of its clock. One day ahead of ours leaves a day for the two clocks
// to disagree.
var (
	minRecordedAt    = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxRecordedAhead = 24 * time.Hour
)

// recordedAt is the recorded_at to declare for a file modified at mtime,
// or false when there is none worth sending: a date outside the API's
// range is a broken clock or a file system's placeholder, and a made-up
// date (clamped to a bound) would be worse than the creation time the
// server falls back to.
func recordedAt(mtime, now time.Time) (time.Time, bool) {
	if mtime.Before(minRecordedAt) || mtime.After(now.Add(maxRecordedAhead)) {
		return time.Time{}, false
	}
	return mtime.UTC(), true
}

// recordingDate is when a recording was made, as far as the server knows:
// its recorded_at, else when it was created.
func recordingDate(r recordingDoc) time.Time {
	if r.RecordedAt != nil {
		return *r.RecordedAt
	}
	return r.CreatedAt
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
		e.api.logf("PUT %s%s (presigned) -> %v", hostOf(url), what, scrub(err))
		return unreachable("storage", storageWhere(url), e.timeout, err)
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
func (e *env) waitConfirmed(rec recordingDoc, wait time.Duration) (recordingDoc, error) {
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for {
		var got recordingDoc
		err := e.api.call(e.ctx, http.MethodGet, "/v1/recordings/"+rec.ID, nil, nil, &got)
		switch {
		case err == nil && got.Status == "available":
			return got, nil
		case err == nil && got.Status == "rejected":
			return got, rejected(got)
		case err != nil && !transient(err):
			return rec, err
		}
		if time.Now().After(deadline) {
			return rec, fmt.Errorf("%s uploaded but not confirmed within %s; check later with `recorder ls --status pending`", rec.ID, wait)
		}
		select {
		case <-e.ctx.Done():
			return rec, e.ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// --- ls

func (e *env) lsCmd() *cobra.Command {
	var o lsOpts
	c := &cobra.Command{
		Use:   "ls",
		Short: "List recordings, newest first",
		Args:  args(0, 0),
		RunE:  func(*cobra.Command, []string) error { return e.ls(o) },
	}
	c.Flags().BoolVar(&o.json, "json", false, "print JSON for scripts")
	c.Flags().IntVar(&o.limit, "limit", 0, "at most this many (default: all)")
	c.Flags().StringVar(&o.status, "status", "available", "available, pending, rejected, deleted, or all")
	_ = c.RegisterFlagCompletionFunc("status", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return statuses, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

var statuses = []string{"available", "pending", "rejected", "deleted", "all"}

type lsOpts struct {
	json   bool
	limit  int
	status string
}

func (e *env) ls(o lsOpts) error {
	if o.limit < 0 {
		return usageError("--limit must be positive")
	}
	if !slices.Contains(statuses, o.status) {
		return usageError(fmt.Sprintf("--status %q: want one of %s", o.status, strings.Join(statuses, ", ")))
	}
	if err := e.needSession(); err != nil {
		return err
	}
	items, err := e.list(o.status, o.limit, false)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	rows := make([][]string, 0, len(items))
	for _, r := range items {
		dur := formatDuration(r.DurationMS)
		date := recordingDate(r)
		status := r.Status
		if r.Status == "rejected" && r.RejectReason != "" {
			status += ": " + r.RejectReason
			if r.RejectDetail != "" {
				status += " (" + r.RejectDetail + ")"
			}
		}
		rows = append(rows, []string{r.ID, r.FileName, humanBytes(r.SizeBytes), dur, date.Local().Format("2006-01-02 15:04"), status})
	}
	return e.printTable([]string{"ID", "NAME", "SIZE", "DURATION", "DATE", "STATUS"}, rows)
}

// list pages through the recordings of one status ("all" for every one),
// at most limit of them (0: all). withURLs asks for presigned downloads on
// the page (?include=download_url), so a restore signs nothing per file.
func (e *env) list(status string, limit int, withURLs bool) ([]recordingDoc, error) {
	items := []recordingDoc{}
	cursor := ""
	for {
		page := 100
		if limit > 0 {
			page = min(100, limit-len(items))
		}
		q := url.Values{"limit": {strconv.Itoa(page)}, "status": {status}}
		if withURLs {
			q.Set("include", "download_url")
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var out struct {
			Items      []recordingDoc `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		err := retrying(e.ctx, func() error {
			return e.api.call(e.ctx, http.MethodGet, "/v1/recordings?"+q.Encode(), nil, nil, &out)
		})
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		cursor = out.NextCursor
		if cursor == "" || (limit > 0 && len(items) >= limit) {
			return items, nil
		}
	}
}

// --- get

func (e *env) getCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "get ID",
		Short: "Download a recording (default: under its original name, here)",
		Example: `  recorder get 01J... -o interview.m4a   # to this file
  recorder get 01J... -o ~/Music          # into this folder, under the original name
  recorder get 01J... -o - | ffplay -      # to stdout`,
		Args:              args(1, 1),
		ValidArgsFunction: e.completeIDs("available"),
		RunE:              func(_ *cobra.Command, a []string) error { return e.get(a[0], out) },
	}
	c.Flags().StringVarP(&out, "output", "o", "", "a file, a folder (the original name inside it), or - for stdout")
	return c
}

func (e *env) get(id, out string) error {
	if err := e.needSession(); err != nil {
		return err
	}
	var rec recordingDoc
	if err := retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodGet, "/v1/recordings/"+url.PathEscape(id), nil, nil, &rec)
	}); err != nil {
		return notFoundAs(err, id)
	}
	if rec.Download == nil {
		return fmt.Errorf("%s is %s, nothing to download", rec.ID, rec.Status)
	}
	if out == "-" {
		return retrying(e.ctx, func() error { return e.download(rec, nil) })
	}
	target := out
	if st, err := os.Stat(out); out == "" || (err == nil && st.IsDir()) {
		dir := out
		if dir == "" {
			dir = "."
		}
		if target, err = inFolder(dir, safeName(rec.FileName)); err != nil {
			return err
		}
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("%s already exists; choose another name with -o", target)
		}
	}
	if err := retrying(e.ctx, func() error { return e.download(rec, &target) }); err != nil {
		return err
	}
	if err := os.Chtimes(target, time.Time{}, recordingDate(rec)); err != nil {
		fmt.Fprintf(e.stderr, "recorder: %s keeps today's date: %v\n", target, err)
	}
	fmt.Fprintln(e.stdout, target)
	return nil
}

// download fetches rec through its presigned URL into target (nil:
// stdout), checking the length and, when the server has it, the SHA-256.
// A file is written beside target and renamed into place only when whole,
// with the permissions of any new file (the umask's).
func (e *env) download(rec recordingDoc, target *string) error {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, rec.Download.URL, nil)
	if err != nil {
		return scrub(err)
	}
	resp, err := e.api.http.Do(req)
	if err != nil {
		return unreachable("storage", storageWhere(rec.Download.URL), e.timeout, err)
	}
	defer resp.Body.Close()
	e.api.logf("GET %s (presigned) -> %d", hostOf(rec.Download.URL), resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return &APIError{Status: resp.StatusCode, Title: storageMessage(raw, resp.Status)}
	}
	h := sha256.New()
	bar := e.newBar(rec.SizeBytes, rec.FileName)
	if target == nil {
		// Bytes already on stdout cannot be taken back: verify what can be.
		n, err := io.Copy(io.MultiWriter(e.stdout, h, bar), resp.Body)
		if err == nil {
			err = checkDownload(rec, n, h.Sum(nil))
		}
		if err != nil {
			bar.abort()
			return err
		}
		bar.done()
		return nil
	}
	tmp, err := createNew(filepath.Dir(*target), ".recorder-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(io.MultiWriter(tmp, h, bar), resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkDownload(rec, n, h.Sum(nil))
	}
	if err != nil {
		bar.abort()
		return err
	}
	bar.done()
	return os.Rename(tmp.Name(), *target)
}

func checkDownload(rec recordingDoc, n int64, sum []byte) error {
	if n != rec.SizeBytes {
		return fmt.Errorf("download of %s ended after %d of %d bytes", rec.ID, n, rec.SizeBytes)
	}
	if rec.SHA256 != "" && base64.StdEncoding.EncodeToString(sum) != rec.SHA256 {
		return fmt.Errorf("download of %s does not match its SHA-256; nothing was kept", rec.ID)
	}
	return nil
}

// createNew creates a new file in dir with mode 0666 less the umask, like
// any file a program saves (os.CreateTemp would make it 0600).
func createNew(dir, prefix string) (*os.File, error) {
	for range 100 {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		f, err := os.OpenFile(filepath.Join(dir, prefix+hex.EncodeToString(b)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("cannot create a temporary file in " + dir)
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

// completeIDs completes recording ids of one status, described by name.
func (e *env) completeIDs(status string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		if err := e.setup(); err != nil || e.api.token == "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		items, err := e.list(status, 200, false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := make([]string, 0, len(items))
		for _, r := range items {
			out = append(out, r.ID+"\t"+r.FileName)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// --- rename, rm, trash, restore, delete-account

func (e *env) renameCmd() *cobra.Command {
	return &cobra.Command{Use: "rename ID NAME", Short: "Rename a recording", Args: args(2, 2),
		ValidArgsFunction: e.completeIDs("all"),
		RunE:              func(_ *cobra.Command, a []string) error { return e.rename(a[0], a[1]) }}
}

func (e *env) rename(id, name string) error {
	if err := e.needSession(); err != nil {
		return err
	}
	var rec recordingDoc
	err := retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodPatch, "/v1/recordings/"+url.PathEscape(id), nil,
			map[string]string{"file_name": name}, &rec)
	})
	if err != nil {
		return notFoundAs(err, id)
	}
	return e.printTable(nil, [][]string{{rec.ID, rec.FileName}})
}

func (e *env) rmCmd() *cobra.Command {
	var purge bool
	c := &cobra.Command{Use: "rm ID...", Short: "Move recordings to the trash (--purge: delete for good)", Args: args(1, -1),
		ValidArgsFunction: e.completeIDs("available"),
		RunE:              func(_ *cobra.Command, a []string) error { return e.rm(a, purge) }}
	c.Flags().BoolVar(&purge, "purge", false, "delete for good instead of moving to the trash")
	return c
}

func (e *env) rm(ids []string, purge bool) error {
	if err := e.needSession(); err != nil {
		return err
	}
	query := ""
	if purge {
		query = "?purge=true"
	}
	failed := 0
	var last error
	for _, id := range ids {
		var res deleteResult
		err := retrying(e.ctx, func() error {
			res = deleteResult{}
			return e.api.call(e.ctx, http.MethodDelete, "/v1/recordings/"+url.PathEscape(id)+query, nil, nil, &res)
		})
		if err != nil && len(ids) == 1 {
			return notFoundAs(err, id)
		}
		if err != nil {
			failed++
			last = err
			fmt.Fprintf(e.stderr, "recorder rm: %v\n", notFoundAs(err, id))
			continue
		}
		fmt.Fprintf(e.stderr, "%s: %s\n", id, res.describe(purge))
	}
	if failed > 0 {
		return &batchError{n: failed, of: len(ids), verb: "deleted", last: last}
	}
	return nil
}

// deleteResult is the answer of DELETE /v1/recordings/{id}. A server from
// before the outcome was answered says 204 and no body: Outcome stays empty.
type deleteResult struct {
	Outcome   string        `json:"outcome"`
	Recording *recordingDoc `json:"recording"`
}

// describe says what happened to the recording, in the words the web page
// uses too.
func (r deleteResult) describe(purge bool) string {
	outcome := r.Outcome
	if outcome == "" {
		// An old server did what was asked.
		outcome = "trashed"
		if purge {
			outcome = "deleted"
		}
	}
	until := ""
	if r.Recording != nil && r.Recording.PurgeAt != nil {
		until = " (restorable until " + r.Recording.PurgeAt.Local().Format("2006-01-02 15:04") + ")"
	}
	switch outcome {
	case "trashed":
		return "moved to the trash" + until
	case "already_in_trash":
		return "already in the trash" + until
	case "deleted":
		return "deleted for good"
	}
	return fmt.Sprintf("the server answered %q", outcome)
}

func (e *env) trashCmd() *cobra.Command {
	var o lsOpts
	c := &cobra.Command{
		Use:   "trash",
		Short: "List the trash; `trash restore ID...` brings recordings back",
		Args:  args(0, 0),
		RunE: func(*cobra.Command, []string) error {
			o.status = "deleted"
			return e.ls(o)
		},
	}
	c.Flags().BoolVar(&o.json, "json", false, "print JSON for scripts")
	c.Flags().IntVar(&o.limit, "limit", 0, "at most this many (default: all)")
	c.AddCommand(&cobra.Command{
		Use:               "restore ID...",
		Short:             "Bring recordings back from the trash",
		Args:              args(1, -1),
		ValidArgsFunction: e.completeIDs("deleted"),
		RunE:              func(_ *cobra.Command, a []string) error { return e.untrash(a) },
	})
	return c
}

func (e *env) untrash(ids []string) error {
	if err := e.needSession(); err != nil {
		return err
	}
	for _, id := range ids {
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

func (e *env) deleteAccountCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{Use: "delete-account", Short: "Delete the account and everything in it", Args: args(0, 0),
		RunE: func(*cobra.Command, []string) error { return e.deleteAccount(yes) }}
	c.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return c
}

func (e *env) deleteAccount(yes bool) error {
	if err := e.needSession(); err != nil {
		return err
	}
	if !yes {
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
