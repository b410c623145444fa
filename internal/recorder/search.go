package recorder

import (
	"context"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/search"
)

// maxQueryBytes bounds a search query: a sentence, not a document.
const maxQueryBytes = 500

// SearchHit is a recording as a listing shows it, with where it matched.
type SearchHit struct {
	RecordingWithDownload
	Matches []search.Match `json:"matches"`
}

// SearchPage is a search's answer: the best results, best first. A search
// answers one page; asking again with a higher limit shows more.
type SearchPage struct {
	Items []SearchHit `json:"items"`
	// Signed: an item carries a download URL (the answer must not be cached).
	Signed bool `json:"-"`
}

// searchStatuses are the statuses a search of a listing's status finds:
// the same as the listing, so the trash is searched only when asked
// (status=deleted) and "all" means what it means for a listing.
func searchStatuses(status string) []recording.Status {
	if status == StatusAll {
		return []recording.Status{recording.StatusPending, recording.StatusAvailable, recording.StatusRejected}
	}
	return []recording.Status{recording.Status(status)}
}

// Search finds the user's recordings whose name or transcript holds every
// word of q.Query, best first, each with the places it matched.
func (s *Service) Search(ctx context.Context, userID string, q ListRequest) (SearchPage, error) {
	if q.Cursor != "" {
		return SearchPage{}, recording.Errorf(recording.CodeValidation, "a search answers one page: cursor is not taken with q (ask for a higher limit)")
	}
	if len(q.Query) > maxQueryBytes {
		return SearchPage{}, recording.Errorf(recording.CodeValidation, "q must be at most %d bytes", maxQueryBytes)
	}
	terms := search.QueryTerms(q.Query)
	switch {
	case len(terms) == 0:
		return SearchPage{}, recording.Errorf(recording.CodeValidation, "q must hold at least one word")
	case len(terms) > search.MaxQueryTerms:
		return SearchPage{}, recording.Errorf(recording.CodeValidation, "q has too many words: at most %d terms (a Korean word of n syllables is n-1)", search.MaxQueryTerms)
	}
	now := s.now()
	found, err := s.store.Search(ctx, userID, dynamo.SearchRequest{Terms: terms, Statuses: searchStatuses(q.Status), Limit: q.Limit}, now)
	if err != nil {
		return SearchPage{}, err
	}
	page := SearchPage{Items: make([]SearchHit, len(found))}
	for i, f := range found {
		hit := &page.Items[i]
		hit.Recording = f.Recording
		hit.Matches = matches(f, terms)
		if q.Downloads && f.Recording.Status == recording.StatusAvailable {
			if hit.Download, err = s.download(ctx, f.Recording, now); err != nil {
				return SearchPage{}, err
			}
			page.Signed = true
		}
	}
	return page, nil
}

// matches are where a result matched: its name first, then its best
// moments, each with the segment's times so an app can seek there.
func matches(f dynamo.SearchResult, terms []string) []search.Match {
	out := []search.Match{}
	if f.Hit.InName {
		out = append(out, search.Match{Field: search.FieldName, Snippet: f.Recording.FileName})
	}
	for _, i := range f.Hit.Segments {
		seg, ok := f.Segments[i]
		if !ok {
			continue
		}
		out = append(out, search.Match{
			Field: search.FieldTranscript, StartMS: &seg.StartMS, EndMS: &seg.EndMS, Speaker: seg.Speaker,
			Snippet: search.Snippet(seg.Text, terms, search.SnippetRunes),
		})
	}
	return out
}

// NameIndexer makes a recording findable by its current name:
// lifecycle.Keeper in this process, lifecycle.Remote through the events
// function, lifecycle.LocalReindex after the request.
type NameIndexer interface {
	ReindexName(ctx context.Context, userID, recordingID string) error
}

// reindexName asks for a renamed recording's name to be indexed. The
// record is already written: a failure is logged, not answered. Search
// checks name matches against the current name, so the old name never
// finds it; the new one does from the next rename on.
func (s *Service) reindexName(ctx context.Context, rec recording.Recording) {
	if s.names == nil {
		return
	}
	if err := s.names.ReindexName(context.WithoutCancel(ctx), rec.UserID, rec.ID); err != nil {
		s.log.WarnContext(ctx, "reindex recording name", "recording_id", rec.ID, "error", err)
	}
}
