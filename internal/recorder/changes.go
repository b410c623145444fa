package recorder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// Feed limits: a page of 1 to MaxChangesLimit changes, a long poll of at
// most MaxChangesWait, during which the feed is read every
// changesPollInterval.
const (
	DefaultChangesLimit = 100
	MaxChangesLimit     = 500
	MaxChangesWait      = 20 * time.Second
	changesPollInterval = time.Second
	// waitMargin is left of the request's deadline when a wait is cut to
	// fit it, to answer the empty page in time.
	waitMargin = time.Second
)

// ChangesRequest is one read of the feed. Cursor empty: from the oldest
// retained change; Latest: no changes, only the cursor of the newest one.
type ChangesRequest struct {
	Cursor string
	Limit  int
	Wait   time.Duration
	Latest bool
}

// ChangeView is one change as the API shows it.
type ChangeView struct {
	Seq       int64                `json:"seq"`
	Op        string               `json:"op"`
	ID        string               `json:"id"`
	Recording *recording.Recording `json:"recording,omitempty"`
	At        time.Time            `json:"at"`
}

// ChangesPage is the answer to a read of the feed.
type ChangesPage struct {
	Changes []ChangeView `json:"changes"`
	Cursor  string       `json:"cursor"`
	HasMore bool         `json:"has_more"`
}

// changeCursor is a position in one user's feed. It names its owner, so
// another user's cursor is refused rather than read as a position in the
// caller's feed; the Query is scoped to the caller's partition anyway, so
// a forged cursor can reach nothing but the caller's own changes.
type changeCursor struct {
	User string `json:"u"`
	Seq  int64  `json:"q"`
}

var errBadChangeCursor = recording.Errorf(recording.CodeInvalidCursor,
	"cursor is not a position in your change feed; start again without it")

func encodeChangeCursor(user string, seq int64) string {
	b, _ := json.Marshal(changeCursor{User: user, Seq: seq})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeChangeCursor(s, user string) (int64, error) {
	if len(s) > maxCursorLength {
		return 0, errBadChangeCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, errBadChangeCursor
	}
	var c changeCursor
	if err := json.Unmarshal(b, &c); err != nil || c.User != user || c.Seq < 0 {
		return 0, errBadChangeCursor
	}
	return c.Seq, nil
}

// Changes answers the changes of the user's feed after the cursor. With a
// wait and nothing new, it reads the feed again every changesPollInterval
// until a change arrives or the wait (cut to the request's deadline) ends.
func (s *Service) Changes(ctx context.Context, userID string, req ChangesRequest) (ChangesPage, error) {
	var after int64
	if req.Cursor != "" {
		var err error
		if after, err = decodeChangeCursor(req.Cursor, userID); err != nil {
			return ChangesPage{}, err
		}
	}
	if req.Latest {
		last, err := s.store.LatestChange(ctx, userID)
		if err != nil {
			return ChangesPage{}, err
		}
		return ChangesPage{Changes: []ChangeView{}, Cursor: encodeChangeCursor(userID, last)}, nil
	}
	if req.Limit == 0 {
		req.Limit = DefaultChangesLimit
	}
	wait := min(req.Wait, MaxChangesWait)
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)-waitMargin)
	}
	until := time.Now().Add(wait)
	for {
		page, err := s.store.ChangesAfter(ctx, userID, after, req.Limit, s.now())
		var expired *dynamo.ErrChangesExpired
		switch {
		case errors.As(err, &expired):
			return ChangesPage{}, recording.Errorf(recording.CodeCursorExpired,
				"changes after this cursor are no longer kept; list all recordings again and follow the feed from ?from=latest")
		case errors.Is(err, dynamo.ErrCursorAhead):
			return ChangesPage{}, errBadChangeCursor
		case err != nil:
			return ChangesPage{}, err
		}
		if len(page.Changes) > 0 || time.Now().After(until) {
			return s.changesPage(userID, page), nil
		}
		select {
		case <-ctx.Done():
			return s.changesPage(userID, page), nil
		case <-time.After(min(changesPollInterval, time.Until(until))):
		}
	}
}

func (s *Service) changesPage(userID string, page dynamo.ChangePage) ChangesPage {
	out := ChangesPage{Changes: make([]ChangeView, 0, len(page.Changes)), Cursor: encodeChangeCursor(userID, page.Last), HasMore: page.HasMore}
	for _, c := range page.Changes {
		out.Changes = append(out.Changes, ChangeView{Seq: c.Seq, Op: c.Op, ID: c.RecordingID, Recording: c.Recording, At: c.At.UTC()})
	}
	return out
}
