package cli

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/voicerec/backend/client"
)

// usageError is a wrong command line: exit code 2.
type usageError string

func (u usageError) Error() string { return string(u) }

var errNotSignedIn = errors.New("not signed in")

// batchError is a run where some files failed (each was reported on its
// own line); its exit code is the one of the last failure.
type batchError struct {
	n, of int
	verb  string
	last  error
}

func (b *batchError) Error() string { return fmt.Sprintf("%d of %d files not %s", b.n, b.of, b.verb) }
func (b *batchError) Unwrap() error { return b.last }

// notFoundAs names the id in a 404, which is the same for "never existed"
// and "someone else's".
func notFoundAs(err error, id string) error {
	if client.IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("no recording %s", id)
	}
	return err
}
