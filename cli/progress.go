package cli

import (
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/voicerec/backend/client"
)

// isTerminal reports whether w is an interactive terminal; progress bars
// are drawn only there, so scripts and CI logs get clean output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar is a byte progress bar, or nothing when output is not a terminal.
// A shared bar is one file's share of an overall bar (backup, restore): it
// takes back what it counted when its transfer starts over, and leaves
// finishing to the owner of the overall bar.
type bar struct {
	pb     *progressbar.ProgressBar
	shared bool
	sent   atomic.Int64
}

func (e *env) newBar(size int64, name string) *bar {
	if e.overall != nil {
		return &bar{pb: e.overall, shared: true}
	}
	if !e.progress {
		return &bar{}
	}
	return &bar{pb: progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// newOverall is one bar for a whole run of many files, or nil when
// stderr is not a terminal.
func (e *env) newOverall(total int64, what string) *progressbar.ProgressBar {
	if !e.progress || total <= 0 {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// bar is the client's Progress of an upload, and the io.Writer a
// download is teed into.
var _ client.Progress = (*bar)(nil)

func (b *bar) Write(p []byte) (int, error) {
	b.Add(int64(len(p)))
	return len(p), nil
}

// Add counts n bytes done: a part sent, or parts a resumed upload
// finds already stored.
func (b *bar) Add(n int64) {
	if b.pb != nil {
		b.sent.Add(n)
		_ = b.pb.Add64(n)
	}
}

// Reset starts over for a retried transfer.
func (b *bar) Reset() {
	switch {
	case b.pb == nil:
	case b.shared:
		_ = b.pb.Add64(-b.sent.Swap(0))
	default:
		b.sent.Store(0)
		b.pb.Reset()
	}
}

// Finish completes the bar, or leaves it where it stopped; a shared bar
// is finished by its owner.
func (b *bar) Finish(ok bool) {
	switch {
	case b.pb == nil || b.shared:
	case ok:
		_ = b.pb.Finish()
	default:
		_ = b.pb.Exit()
	}
}
