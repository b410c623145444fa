package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/search"
)

// SearchIndex is the TranscriptSink that makes a completed transcript
// searchable by what was said in it.
type SearchIndex struct {
	Store *dynamo.Store
}

// TranscriptReady indexes the transcript, then looks at the recording: a
// purge that finished meanwhile ran its Unindex before these items
// existed, so they are taken out here. A purge that finishes after that
// look removes them itself (its Unindex follows its record's delete).
func (x SearchIndex) TranscriptReady(ctx context.Context, userID, recordingID, language string, segs []recording.Segment) error {
	out := make([]search.Segment, len(segs))
	for i, s := range segs {
		out[i] = search.Segment{StartMS: s.StartMS, EndMS: s.EndMS, Text: s.Text, Speaker: s.Speaker}
	}
	if err := x.Store.IndexTranscript(ctx, userID, recordingID, language, out); err != nil {
		return fmt.Errorf("index transcript: %w", err)
	}
	return unindexIfGone(ctx, x.Store, userID, recordingID)
}

// unindexIfGone takes a recording out of the index when its record is
// gone (or going) after an index write.
func unindexIfGone(ctx context.Context, store *dynamo.Store, userID, recordingID string) error {
	rec, err := store.GetRecording(ctx, userID, recordingID)
	if err != nil && !errors.Is(err, recording.ErrNotFound) {
		return err
	}
	if errors.Is(err, recording.ErrNotFound) || rec.Status == recording.StatusDeleting {
		return store.Unindex(ctx, userID, recordingID)
	}
	return nil
}

// maxReindexRounds bounds how often ReindexName follows a name that
// changed again while it indexed the previous one.
const maxReindexRounds = 3

// ReindexName makes a recording findable by the name its record holds
// now. A rename asks for it (through the events function on AWS), and so
// does confirmation, just before its write, so a recording is findable by
// name once it is seen available. Search checks every name match against
// the record's current name and status (a pending recording's name finds
// nothing), so a reindex that is late, lost or run twice never shows a
// wrong result; it only delays finding the new name.
func (k *Keeper) ReindexName(ctx context.Context, userID, recordingID string) error {
	return k.reindexAfter(ctx, userID, recordingID, "")
}

// reindexAfter is ReindexName once the name `indexed` is in the index: it
// reads the record and indexes its name until the two agree.
func (k *Keeper) reindexAfter(ctx context.Context, userID, recordingID, indexed string) error {
	for range maxReindexRounds {
		rec, err := k.Store.GetRecording(ctx, userID, recordingID)
		if errors.Is(err, recording.ErrNotFound) {
			return k.Store.Unindex(ctx, userID, recordingID)
		}
		if err != nil {
			return err
		}
		if rec.Status == recording.StatusDeleting {
			return nil // its purge unindexes it
		}
		if rec.FileName == indexed {
			return nil
		}
		if err := k.Store.IndexName(ctx, userID, recordingID, rec.FileName); err != nil {
			return fmt.Errorf("index name: %w", err)
		}
		indexed = rec.FileName
	}
	// Renamed again at every look: the latest rename's request follows.
	return nil
}

// indexConfirmedName indexes a recording's name as it is confirmed. The
// record was just read by the confirmation, so its name is indexed
// without reading it again (one strongly consistent read and one round
// trip fewer on the way to available); the read after the write still
// catches a rename or a delete in between. The confirmation goes ahead
// whatever happens here: a failure is logged, and the recording is found
// by its name from its next rename on.
func (k *Keeper) indexConfirmedName(ctx context.Context, rec recording.Recording) {
	err := k.Store.IndexName(ctx, rec.UserID, rec.ID, rec.FileName)
	if err == nil {
		err = k.reindexAfter(ctx, rec.UserID, rec.ID, rec.FileName)
	}
	if err != nil {
		k.Log.WarnContext(ctx, "index confirmed recording's name", "recording_id", rec.ID, "error", err)
	}
}

// dropRemoved removes what was built from a recording whose record went
// because its object disappeared: its transcript, then its search items.
func (k *Keeper) dropRemoved(ctx context.Context, rec recording.Recording) error {
	if err := k.dropTranscript(ctx, rec); err != nil {
		return err
	}
	return k.Store.Unindex(ctx, rec.UserID, rec.ID)
}
