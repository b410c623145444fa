package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/voicerec/backend/client"
)

// minPrefix is the shortest id prefix taken: fewer characters are only the
// first instants of the id's timestamp and match nearly everything.
const minPrefix = 4

// maxCandidates bounds the ambiguity error, and the listing: past it the
// answer is decided.
const maxCandidates = 10

// resolveOptions say where a command looks for its recording.
type resolveOptions struct {
	status      string // the listing's status filter
	skipDeleted bool   // with "all": recordings in the trash are not candidates
}

// resolve turns what a person typed for a recording (a full id, a unique id
// prefix in either case, or an exact file name) into its id. A full id costs
// no request; anything else streams the listing page by page and stops as
// soon as more than maxCandidates match.
func (e *env) resolve(ctx context.Context, arg string, o resolveOptions) (string, error) {
	if client.ValidID(arg) {
		return arg, nil
	}
	prefix := ""
	if isCrockford(arg) && len(arg) >= minPrefix {
		prefix = strings.ToUpper(arg)
	}
	var found []client.Recording
	more := false
	lo := client.ListOptions{Status: o.status, Limit: 100}
pages:
	for {
		page, err := e.api.ListRecordings(ctx, lo)
		if err != nil {
			return "", err
		}
		for _, r := range page.Items {
			// An id from the server goes into a request path only after the
			// check the server itself makes.
			if !client.ValidID(r.ID) || (o.skipDeleted && r.Status == "deleted") {
				continue
			}
			if r.FileName != arg && (prefix == "" || !strings.HasPrefix(strings.ToUpper(r.ID), prefix)) {
				continue
			}
			if len(found) == maxCandidates {
				more = true
				break pages
			}
			found = append(found, r)
		}
		if lo.Cursor = page.NextCursor; lo.Cursor == "" {
			break
		}
	}
	switch {
	case len(found) == 1:
		return found[0].ID, nil
	case len(found) == 0 && isCrockford(arg) && len(arg) < minPrefix:
		return "", usageError(fmt.Sprintf("%q: an id prefix needs at least %d characters", arg, minPrefix))
	case len(found) == 0:
		return "", fmt.Errorf("no recording %s", arg)
	}
	var c []string
	for _, r := range found {
		c = append(c, fmt.Sprintf("%s %q", r.ID, r.FileName))
	}
	n := fmt.Sprintf("%d", len(found))
	if more {
		n = "more than " + n
	}
	return "", fmt.Errorf("%q matches %s recordings: %s; give more of the id", arg, n, strings.Join(c, ", "))
}

func isCrockford(s string) bool {
	for _, r := range strings.ToUpper(s) {
		if !strings.ContainsRune(crockfordDigits, r) {
			return false
		}
	}
	return s != ""
}

const crockfordDigits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
