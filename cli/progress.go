package cli

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is an interactive terminal; progress bars
// are drawn only there, so scripts and CI logs get clean output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar is a byte progress bar, or nothing when output is not a terminal.
type bar struct {
	pb *progressbar.ProgressBar
}

func (e *env) newBar(size int64, name string) *bar {
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

func (b *bar) Write(p []byte) (int, error) {
	if b.pb != nil {
		_ = b.pb.Add(len(p))
	}
	return len(p), nil
}

// add counts n bytes done: a part sent, or parts a resumed upload
// finds already stored.
func (b *bar) add(n int64) {
	if b.pb != nil {
		_ = b.pb.Add64(n)
	}
}

// reset starts over for a retried transfer.
func (b *bar) reset() {
	if b.pb != nil {
		b.pb.Reset()
	}
}

func (b *bar) done() {
	if b.pb != nil {
		_ = b.pb.Finish()
	}
}

func (b *bar) abort() {
	if b.pb != nil {
		_ = b.pb.Exit()
	}
}
