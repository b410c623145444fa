package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

// Backup and restore judge "already there" by content, not by name: the
// server keeps each recording's SHA-256 (the CLI always declares it and
// storage verifies it), so a renamed or moved file is still recognised and
// a changed file is not mistaken for its old self.

const defaultJobs = 4

func newBackupCommand(e *env) *cobra.Command {
	var o backupOptions
	c := &cobra.Command{
		Use:   "backup DIR",
		Short: "Upload every audio file under DIR that is not backed up yet",
		Long: `Upload every audio file under DIR (subfolders included, hidden ones skipped)
whose content is not already among your recordings, judged by SHA-256. Several
files go at once; an interrupted upload resumes when backup runs again. Ends with
a summary: uploaded, already backed up, skipped, failed (with reasons).`,
		Example: "  recorder backup ~/Recordings",
		Args:    args(1, 1),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.dir = a[0]
			return runBackup(cmd.Context(), e, o)
		},
	}
	c.Flags().IntVarP(&o.jobs, "jobs", "j", defaultJobs, "files uploaded at once")
	c.Flags().DurationVar(&o.wait, "wait", 2*time.Minute, "how long to wait for each upload to be confirmed")
	c.Flags().BoolVar(&o.retryRefused, "retry-refused", false, "upload again content the server refused before (reported once, then skipped)")
	return c
}

type backupOptions struct {
	dir          string
	jobs         int
	wait         time.Duration
	retryRefused bool
}

// localFile is one candidate for backup.
type localFile struct {
	path string
	size int64
}

type outcome struct {
	path, note string
	err        error
	refused    bool   // refused before and reported then: skipped
	rejectedAs string // the server refused it in this run, as this recording
}

// passedCounts is "2 hidden, 1 not audio": how many of each reason, by reason.
func passedCounts(passed []outcome) string {
	n := map[string]int{}
	for _, p := range passed {
		n[p.note]++
	}
	reasons := make([]string, 0, len(n))
	for r := range n {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d %s", n[r], r)
	}
	return strings.Join(parts, ", ")
}

func runBackup(ctx context.Context, e *env, o backupOptions) error {
	dir := o.dir
	if o.jobs < 1 {
		return usageError("--jobs must be at least 1")
	}
	if st, err := os.Stat(dir); err != nil {
		return err
	} else if !st.IsDir() {
		return fmt.Errorf("%s is not a folder; use `recorder upload` for single files", dir)
	}
	if err := e.needSession(); err != nil {
		return err
	}
	files, skipped, passed, err := audioFiles(dir)
	if err != nil {
		return err
	}
	refused, err := loadRefused(e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "recorder backup: refusals will be reported again: %v\n", err)
	}
	// Hash first, then decide in the walk's order, so which of two files
	// with the same content is uploaded does not depend on timing.
	digests := make([]string, len(files))
	keys := make([][]string, len(files)) // every verified digest the file may be known by
	results := make([]outcome, len(files))
	parallel(ctx, len(files), o.jobs, func(i int) {
		results[i].path = files[i].path
		if digests[i], results[i].err = hashFile(files[i].path); results[i].err != nil {
			return
		}
		keys[i] = []string{digests[i]}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	// Only digests storage verified count: the ledger answers which
	// recordings hold each file's content, 100 digests a request, instead
	// of a listing of the whole account.
	have, err := lookupStored(ctx, e, files, keys, results, o.jobs)
	if err != nil {
		return err
	}
	seen := map[string]string{} // digest -> the path uploading it in this run
	var todo []int
	var total int64
	for i, f := range files {
		res, digest := &results[i], digests[i]
		if res.err != nil {
			continue
		}
		r, known := have.match(keys[i])
		first, dup := seen[digest]
		switch {
		case dup:
			res.note = "same content as " + first
		case known && r.Status == "available":
			res.note = "backed up as " + r.ID
		case known && r.Status == "deleted":
			res.note = fmt.Sprintf("in the trash as %s (`recorder trash restore %s`)", r.ID, r.ID)
		case known && r.Status == "rejected" && !o.retryRefused && refused.digests[digest] != "":
			res.note = fmt.Sprintf("refused before as %s: %s (--retry-refused tries again)", r.ID, r.RejectReason)
			res.refused = true
		case known && r.Status == "rejected" && !o.retryRefused:
			res.err = fmt.Errorf("refused earlier as %s: %s", r.ID, r.RejectReason)
			refused.digests[digest] = r.ID
		case !known && !o.retryRefused && refused.digests[digest] != "":
			// The ledger holds stored content only; a refusal is this
			// machine's memory.
			res.note = fmt.Sprintf("refused before as %s (--retry-refused tries again)", refused.digests[digest])
			res.refused = true
		default:
			seen[digest] = f.path
			todo = append(todo, i)
			total += f.size
		}
	}
	e.overall = e.newOverall(total, "backup")
	parallel(ctx, len(todo), o.jobs, func(k int) {
		i := todo[k]
		rec, err := uploadFile(ctx, e, files[i].path, digests[i], o.wait)
		results[i].err = err
		if rej := (*client.RejectedError)(nil); errors.As(err, &rej) {
			results[i].rejectedAs = rej.Recording.ID
		}
		if err == nil {
			results[i].note = "uploaded as " + rec.ID
		}
	})
	if e.overall != nil {
		_ = e.overall.Finish()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, r := range results {
		if r.rejectedAs != "" {
			refused.digests[digests[i]] = r.rejectedAs
		}
	}
	if refused.path != "" {
		if err := refused.save(); err != nil {
			fmt.Fprintf(e.stderr, "recorder backup: %v\n", err)
		}
	}
	uploaded, already, failed, before := 0, 0, 0, 0
	var last error
	for _, r := range results {
		switch {
		case r.refused:
			before++
			if e.verbose {
				fmt.Fprintf(e.stdout, "skipped   %s: %s\n", r.path, r.note)
			}
		case r.err != nil:
			failed++
			last = r.err
			fmt.Fprintf(e.stdout, "failed    %s: %v\n", r.path, r.err)
		case strings.HasPrefix(r.note, "uploaded"):
			uploaded++
			fmt.Fprintf(e.stdout, "uploaded  %s (%s)\n", r.path, strings.TrimPrefix(r.note, "uploaded as "))
		default:
			already++
			if e.verbose || !strings.HasPrefix(r.note, "backed up") {
				fmt.Fprintf(e.stdout, "skipped   %s: %s\n", r.path, r.note)
			}
		}
	}
	for _, s := range skipped {
		fmt.Fprintf(e.stdout, "skipped   %s: %s\n", s.path, s.note)
	}
	if e.verbose {
		for _, s := range passed {
			fmt.Fprintf(e.stdout, "passed    %s: %s\n", s.path, s.note)
		}
	}
	fmt.Fprintf(e.stdout, "backup of %s: %d uploaded, %d already backed up, %d skipped, %d failed",
		dir, uploaded, already, len(skipped), failed)
	if before > 0 {
		fmt.Fprintf(e.stdout, ", %d refused before", before)
	}
	if len(passed) > 0 {
		fmt.Fprintf(e.stdout, "; passed over: %s", passedCounts(passed))
		if !e.verbose {
			fmt.Fprint(e.stdout, " (-v lists them)")
		}
	}
	fmt.Fprintln(e.stdout)
	if failed > 0 {
		return &batchError{n: failed, of: len(files), verb: "backed up", last: last}
	}
	return nil
}

// audioFiles walks dir for audio files; what it passes over that looks
// like a recording (empty, unreadable) is returned as skipped, with why.
// Hidden files and folders and files that are not audio are passed over,
// returned in passed for the summary to count.
func audioFiles(dir string) (files []localFile, skipped, passed []outcome, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			skipped = append(skipped, outcome{path: path, note: "unreadable: " + err.Error()})
			return nil
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			passed = append(passed, outcome{path: path, note: "hidden"})
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			skipped = append(skipped, outcome{path: path, note: "unreadable: " + err.Error()})
			return nil
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if _, err := detectType(path, f); err != nil {
			// Not what a backup of recordings is about, but said in the summary.
			passed = append(passed, outcome{path: path, note: "not audio"})
			return nil
		}
		if st.Size() == 0 {
			skipped = append(skipped, outcome{path: path, note: "empty"})
			return nil
		}
		files = append(files, localFile{path: path, size: st.Size()})
		return nil
	})
	return files, skipped, passed, err
}

// parallel runs fn(0..n-1) on at most jobs goroutines, stopping early
// when the run is cancelled.
func parallel(ctx context.Context, n, jobs int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}
