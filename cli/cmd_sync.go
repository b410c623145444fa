package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

// Sync reads the change feed from the cursor kept in the folder and
// compares local files by size and modification time with what it kept,
// so a run with nothing new on either side costs one request and no
// hashing. Content is matched as backup and restore match it: by the
// digest storage verified.

type syncOptions struct {
	dir  string
	jobs int
	wait time.Duration
}

func newSyncCommand(e *env) *cobra.Command {
	var o syncOptions
	c := &cobra.Command{
		Use:   "sync DIR",
		Short: "Keep DIR and your recordings in step, both ways",
		Long: `Keep DIR and the account in step through the change feed. Recordings made
elsewhere are downloaded (verified, dated as recorded), renames made elsewhere
rename the local file, and the local copy of a recording deleted elsewhere is
moved into DIR/.trash (never deleted; a restore brings it back). New audio files
in DIR are backed up; a file changed after it was backed up becomes a new
recording (the old one is left as it is). Where the feed was read up to and which
file is which recording are kept in DIR/.recorder-sync.json.`,
		Example: "  recorder sync ~/Recordings",
		Args:    args(1, 1),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.dir = a[0]
			return runSync(cmd.Context(), e, o)
		},
	}
	c.Flags().IntVarP(&o.jobs, "jobs", "j", defaultJobs, "files uploaded at once")
	c.Flags().DurationVar(&o.wait, "wait", 2*time.Minute, "how long to wait for each upload to be confirmed")
	return c
}

// syncer is one run of sync over one folder.
type syncer struct {
	e       *env
	o       syncOptions
	dir     string
	state   *syncState
	claimed map[string]bool // download targets taken in this run
	failed  int
	last    error
	counts  map[string]int // by what was done: downloaded, renamed...
}

func runSync(ctx context.Context, e *env, o syncOptions) error {
	if o.jobs < 1 {
		return usageError("--jobs must be at least 1")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o777); err != nil {
		return err
	}
	st, err := loadSyncState(o.dir)
	if err != nil {
		return err
	}
	switch {
	case st.API == "" && st.User == "":
		st.API, st.User = e.api.Base(), e.config.UserID
	case st.API != e.api.Base() || st.User != e.config.UserID:
		return fmt.Errorf("%s is synced with account %s at %s, not the one signed in; sync another folder", o.dir, st.User, st.API)
	}
	s := &syncer{e: e, o: o, dir: o.dir, state: st, claimed: map[string]bool{}, counts: map[string]int{}}
	if st.Cursor == "" {
		// A folder synced for the first time is looked up in the ledger
		// before the account is listed, so its files are matched by
		// content whatever their names, and not downloaded beside
		// themselves; the listing then renames them as the account names
		// them.
		if _, err = s.push(ctx); err == nil {
			err = s.pull(ctx)
		}
	} else if err = s.pull(ctx); err == nil {
		var uploaded bool
		if uploaded, err = s.push(ctx); err == nil && uploaded {
			// Read our own uploads back now, so the next run with nothing
			// new finds the feed up to date.
			err = s.pull(ctx)
		}
	}
	if serr := st.save(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "sync of %s: %d uploaded, %d downloaded, %d renamed, %d moved to %s, %d brought back, %d failed\n",
		o.dir, s.counts["uploaded"], s.counts["downloaded"], s.counts["renamed"], s.counts["trashed"], syncTrashName, s.counts["restored"], s.failed)
	if s.failed > 0 {
		return &batchError{n: s.failed, of: s.failed + s.counts["uploaded"] + s.counts["downloaded"], verb: "synced", last: s.last}
	}
	return nil
}

func (s *syncer) fail(what string, err error) {
	s.failed++
	s.last = err
	fmt.Fprintf(s.e.stdout, "failed      %s: %v\n", what, err)
}

func (s *syncer) did(verb, line string) {
	s.counts[verb]++
	fmt.Fprintf(s.e.stdout, "%-11s %s\n", verb, line)
}

// pull applies the feed after the kept cursor. The cursor moves past a
// page only when every change of it was applied, so a failed download is
// tried again next run; applying a change twice does nothing more.
func (s *syncer) pull(ctx context.Context) error {
	if s.state.Cursor == "" {
		return s.resync(ctx)
	}
	for {
		page, err := s.e.api.Changes(ctx, s.state.Cursor, 0)
		if client.IsCode(err, client.CodeCursorExpired) {
			fmt.Fprintf(s.e.stderr, "recorder sync: the change feed no longer reaches back to the last sync of %s; comparing with a full listing\n", s.dir)
			return s.resync(ctx)
		}
		if err != nil {
			return err
		}
		before := s.failed
		s.applyAll(ctx, page.Changes)
		if s.failed > before {
			return nil
		}
		if page.Cursor != "" {
			s.state.Cursor = page.Cursor
		}
		if err := s.state.save(); err != nil {
			return err
		}
		if !page.HasMore || page.Cursor == "" {
			return nil
		}
	}
}

// resync stands for a feed read from the start: the cursor of the newest
// change first, then the listings, whose recordings are applied as
// upserts, and a remove for every kept recording they no longer show.
func (s *syncer) resync(ctx context.Context) error {
	cursor, err := s.e.api.LatestCursor(ctx)
	if err != nil {
		return err
	}
	var changes []client.Change
	shown := map[string]bool{}
	for _, status := range []string{"available", "deleted"} {
		items, err := s.e.list(ctx, status, 0, false)
		if err != nil {
			return err
		}
		for _, r := range items {
			shown[r.ID] = true
			changes = append(changes, client.Change{Op: "upsert", ID: r.ID, Recording: &r})
		}
	}
	for id := range s.state.Files {
		if !shown[id] {
			changes = append(changes, client.Change{Op: "remove", ID: id})
		}
	}
	before := s.failed
	s.applyAll(ctx, changes)
	if s.failed == before {
		s.state.Cursor = cursor
	}
	return nil
}

// applyAll applies the last change of each recording, in the order of
// those last changes: an older state of a recording (available before it
// was trashed) is never acted on.
func (s *syncer) applyAll(ctx context.Context, changes []client.Change) {
	last := map[string]int{}
	for i, ch := range changes {
		id := ch.ID
		if ch.Recording != nil {
			if id != "" && ch.Recording.ID != id {
				fmt.Fprintf(s.e.stderr, "recorder sync: ignored a change whose ids disagree (%q, %q)\n", id, ch.Recording.ID)
				continue
			}
			id = ch.Recording.ID
		}
		// An id goes into the state file and request paths: only a valid one.
		if !client.ValidID(id) {
			fmt.Fprintf(s.e.stderr, "recorder sync: ignored a change with an invalid id %q\n", id)
			continue
		}
		changes[i].ID = id
		last[id] = i
	}
	for i, ch := range changes {
		if j, ok := last[ch.ID]; !ok || j != i {
			continue
		}
		switch {
		case ch.Op == "remove":
			s.remove(ch.ID, true)
		case ch.Op == "upsert" && ch.Recording != nil && ch.Recording.Status == "available":
			s.arrive(ctx, *ch.Recording)
		case ch.Op == "upsert" && ch.Recording != nil && ch.Recording.Status == "deleted":
			s.remove(ch.ID, false)
		}
	}
}

// local is where a kept recording's file is, and whether it is still the
// file sync recorded (not changed, moved or deleted here since).
func (s *syncer) local(f syncedFile) (string, bool) {
	if f.Name == "" {
		return "", false
	}
	p := filepath.Join(s.dir, filepath.FromSlash(f.Name))
	st, err := os.Lstat(p)
	return p, err == nil && f.matches(st)
}

// arrive makes an available recording present in the folder: downloaded
// when new here, renamed or brought back from .trash when kept.
func (s *syncer) arrive(ctx context.Context, rec client.Recording) {
	f, kept := s.state.Files[rec.ID]
	if !kept {
		s.download(ctx, rec)
		return
	}
	p, ok := s.local(f)
	if !ok {
		// Changed or removed here: a local change is backed up as a new
		// recording, a local deletion is not undone.
		return
	}
	want := safeName(rec.FileName)
	trashed := strings.HasPrefix(f.Name, syncTrashName+"/")
	folder := path.Dir(f.Name)
	if trashed {
		folder = "."
	}
	if !trashed && path.Base(f.Name) == want {
		return
	}
	if !trashed && path.Base(f.Name) == withID(want, rec.ID) {
		if _, err := os.Lstat(filepath.Join(s.dir, filepath.FromSlash(folder), want)); err == nil {
			return // the name is still another file's
		}
	}
	name, err := s.move(p, folder, want, rec.ID)
	if err != nil {
		s.fail(f.Name, err)
		return
	}
	verb := "renamed"
	if trashed {
		verb = "restored"
	}
	s.did(verb, f.Name+" -> "+name)
	f.Name = name
	s.state.Files[rec.ID] = f
}

// remove moves the local copy of a recording deleted elsewhere into
// .trash; a purged one is forgotten too, its file kept there.
func (s *syncer) remove(id string, purged bool) {
	f, kept := s.state.Files[id]
	if !kept {
		return
	}
	if purged {
		delete(s.state.Files, id)
	}
	p, ok := s.local(f)
	if !ok || strings.HasPrefix(f.Name, syncTrashName+"/") {
		return
	}
	if err := os.MkdirAll(filepath.Join(s.dir, syncTrashName), 0o777); err != nil {
		s.fail(f.Name, err)
		return
	}
	name, err := s.move(p, syncTrashName, path.Base(f.Name), id)
	if err != nil {
		s.fail(f.Name, err)
		return
	}
	s.did("trashed", f.Name+" -> "+name)
	if !purged {
		f.Name = name
		s.state.Files[id] = f
	}
}

// move renames the file at p to name (or "NAME (ID).ext" when name is
// another file's) in folder, relative to the synced folder, without
// replacing anything; it answers the new relative name.
func (s *syncer) move(p, folder, name, id string) (string, error) {
	dir := filepath.Join(s.dir, filepath.FromSlash(folder))
	for _, n := range []string{name, withID(name, id)} {
		target, err := inFolder(dir, n)
		if err != nil {
			return "", err
		}
		if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Rename(p, target); err != nil {
			return "", err
		}
		return path.Join(folder, n), nil
	}
	return "", fmt.Errorf("%s and %s hold other files; not moved", path.Join(folder, name), withID(name, id))
}

// download brings a recording new to this folder, or adopts a file that
// already holds its content.
func (s *syncer) download(ctx context.Context, rec client.Recording) {
	target, there, err := chooseTarget(s.dir, rec, s.claimed)
	if err != nil {
		s.fail(safeName(rec.FileName), err)
		return
	}
	s.claimed[target] = true
	if !there {
		err = s.e.api.Retry(ctx, func() error {
			got, err := s.e.api.GetRecording(client.Once(ctx), rec.ID)
			if err != nil {
				return err
			}
			if got.ID != rec.ID || got.Download == nil {
				return errGone
			}
			rec = got
			return download(ctx, s.e, got, &target)
		})
		if errors.Is(err, errGone) || client.IsStatus(err, http.StatusNotFound) {
			// Trashed or purged since: a later change says so.
			return
		}
		if err != nil {
			s.fail(filepath.Base(target), err)
			return
		}
		// The access time is left as it is (a zero time.Time).
		_ = os.Chtimes(target, time.Time{}, rec.Date())
	}
	st, err := os.Stat(target)
	if err != nil {
		s.fail(filepath.Base(target), err)
		return
	}
	sum := rec.SHA256
	if sum == "" {
		if sum, err = hashFile(target); err != nil {
			s.fail(filepath.Base(target), err)
			return
		}
	}
	rel := filepath.ToSlash(strings.TrimPrefix(target, filepath.Clean(s.dir)+string(filepath.Separator)))
	s.state.Files[rec.ID] = syncedFile{Name: rel, Size: st.Size(), MTime: st.ModTime(), SHA256: sum}
	if !there {
		s.did("downloaded", rel)
	}
}

var errGone = errors.New("no longer available")

// push backs up what is new or changed here. A kept file whose size and
// modification time are as recorded is not read at all.
func (s *syncer) push(ctx context.Context) (uploaded bool, err error) {
	files, skipped, _, err := audioFiles(s.dir)
	if err != nil {
		return false, err
	}
	for _, sk := range skipped {
		fmt.Fprintf(s.e.stdout, "skipped     %s: %s\n", sk.path, sk.note)
	}
	byName := map[string]string{}
	for id, f := range s.state.Files {
		if f.Name != "" {
			byName[f.Name] = id
		}
	}
	var todo []localFile
	var replaces []string // the recording a changed file stood for
	walked := map[string]bool{}
	for _, lf := range files {
		rel, err := filepath.Rel(s.dir, lf.path)
		if err != nil {
			return false, err
		}
		walked[filepath.ToSlash(rel)] = true
		id, kept := byName[filepath.ToSlash(rel)]
		st, err := os.Lstat(lf.path)
		if err == nil && (kept && s.state.Files[id].matches(st) || !kept && s.state.Copies[filepath.ToSlash(rel)].matches(st)) {
			continue
		}
		todo = append(todo, lf)
		replaces = append(replaces, id)
	}
	for name := range s.state.Copies {
		if !walked[name] {
			delete(s.state.Copies, name)
		}
	}
	if len(todo) == 0 {
		return false, nil
	}
	digests := make([]string, len(todo))
	keys := make([][]string, len(todo))
	results := make([]outcome, len(todo))
	parallel(ctx, len(todo), s.o.jobs, func(i int) {
		results[i].path = todo[i].path
		if digests[i], results[i].err = hashFile(todo[i].path); results[i].err == nil {
			keys[i] = []string{digests[i]}
		}
	})
	if err := ctx.Err(); err != nil {
		return false, err
	}
	// A touched file whose content is what was kept only needs its new
	// time remembered; only the rest is looked up.
	var ask []localFile
	var askIdx []int
	for i, lf := range todo {
		if results[i].err != nil {
			continue
		}
		if id := replaces[i]; id != "" && s.state.Files[id].SHA256 == digests[i] {
			s.remember(id, lf.path, digests[i])
			results[i].note = "kept"
			continue
		}
		ask = append(ask, lf)
		askIdx = append(askIdx, i)
	}
	askKeys := make([][]string, len(ask))
	askRes := make([]outcome, len(ask))
	for k, i := range askIdx {
		askKeys[k], askRes[k] = keys[i], results[i]
	}
	have, err := lookupStored(ctx, s.e, ask, askKeys, askRes, s.o.jobs)
	if err != nil {
		return false, err
	}
	seen := map[string]string{}
	var up []int
	for k, i := range askIdx {
		lf := todo[i]
		if askRes[k].err != nil {
			results[i].err = askRes[k].err
			continue
		}
		r, known := have.match(askKeys[k])
		_, alive := s.state.Files[r.ID]
		if alive {
			_, alive = s.local(s.state.Files[r.ID])
		}
		switch first, dup := seen[digests[i]]; {
		case dup:
			results[i].note = "same content as " + first
			s.copyOf(lf.path, digests[i])
		case known && r.Status == "available" && !alive:
			// Stored already (backed up from here or elsewhere, or this
			// file was renamed here): this file stands for it now.
			s.remember(r.ID, lf.path, digests[i])
		case known:
			results[i].note = fmt.Sprintf("same content as %s (%s)", r.ID, r.Status)
			s.copyOf(lf.path, digests[i])
		default:
			seen[digests[i]] = lf.path
			up = append(up, i)
		}
	}
	parallel(ctx, len(up), s.o.jobs, func(k int) {
		i := up[k]
		rec, err := uploadFile(ctx, s.e, todo[i].path, digests[i], s.o.wait)
		if err == nil && !client.ValidID(rec.ID) {
			err = fmt.Errorf("the server sent an invalid id %q", rec.ID)
		}
		results[i].err = err
		if err == nil {
			results[i].note = rec.ID
		}
	})
	if err := ctx.Err(); err != nil {
		return false, err
	}
	for _, i := range up {
		if results[i].err != nil {
			continue
		}
		if old := replaces[i]; old != "" {
			// The old recording keeps the old content; this file is the
			// new one's now.
			f := s.state.Files[old]
			f.Name = ""
			s.state.Files[old] = f
		}
		s.remember(results[i].note, todo[i].path, digests[i])
		rel, _ := filepath.Rel(s.dir, todo[i].path)
		s.did("uploaded", fmt.Sprintf("%s (%s)", filepath.ToSlash(rel), results[i].note))
		uploaded = true
	}
	for i, r := range results {
		switch {
		case r.err != nil:
			s.fail(todo[i].path, r.err)
		case r.note != "" && r.note != "kept" && !slices.Contains(up, i):
			fmt.Fprintf(s.e.stdout, "skipped     %s: %s\n", r.path, r.note)
		}
	}
	return uploaded, nil
}

// remember records the file at p as the local copy of recording id.
func (s *syncer) remember(id, p, digest string) {
	if f, ok := s.synced(p, digest); ok {
		s.state.Files[id] = f
		delete(s.state.Copies, f.Name)
	}
}

// copyOf records the file at p as a copy not to back up while unchanged.
func (s *syncer) copyOf(p, digest string) {
	if f, ok := s.synced(p, digest); ok {
		s.state.Copies[f.Name] = f
	}
}

func (s *syncer) synced(p, digest string) (syncedFile, bool) {
	st, err := os.Stat(p)
	if err != nil {
		return syncedFile{}, false
	}
	rel, err := filepath.Rel(s.dir, p)
	if err != nil {
		return syncedFile{}, false
	}
	return syncedFile{Name: filepath.ToSlash(rel), Size: st.Size(), MTime: st.ModTime(), SHA256: digest}, true
}
