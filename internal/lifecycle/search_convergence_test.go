package lifecycle_test

import (
	"strings"
	"testing"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// checkSearchIndex: once converged, every search item names a recording
// that exists and is not being deleted (postings, documents and segment
// chunks alike), and every available recording with a completed
// transcript can be found by what was said in it.
func (w *world) checkSearchIndex(t *testing.T) {
	status := map[string]string{} // "<user>/<recording>" -> status
	transcribed := map[string]bool{}
	for _, it := range w.scan(t, dynamo.RecordingsTable) {
		key := it["user_id"].(*ddbtypes.AttributeValueMemberS).Value + "/" + it["recording_id"].(*ddbtypes.AttributeValueMemberS).Value
		status[key] = it["status"].(*ddbtypes.AttributeValueMemberS).Value
		if st, ok := it["transcript_status"].(*ddbtypes.AttributeValueMemberS); ok && st.Value == string(recording.TranscriptCompleted) {
			transcribed[key] = true
		}
	}
	indexed := map[string]bool{}
	items := 0
	for _, it := range w.scan(t, dynamo.SearchTable) {
		user := it["user_id"].(*ddbtypes.AttributeValueMemberS).Value
		k := it["k"].(*ddbtypes.AttributeValueMemberS).Value
		parts := strings.Split(k, "#")
		var rec string
		switch {
		case parts[0] == "t" && len(parts) >= 4:
			rec = parts[len(parts)-2]
		case (parts[0] == "d" || parts[0] == "s") && len(parts) == 3:
			rec = parts[1]
		default:
			t.Errorf("search item %s/%s has an unknown key", user, k)
			continue
		}
		items++
		st, ok := status[user+"/"+rec]
		if !ok || st == string(recording.StatusDeleting) {
			t.Errorf("search item %s/%s outlives its recording (status %q)", user, k, st)
		}
		if k == "d#"+rec+"#x" {
			indexed[user+"/"+rec] = true
		}
	}
	for key := range transcribed {
		if status[key] == string(recording.StatusAvailable) && !indexed[key] {
			t.Errorf("recording %s has a completed transcript that is not indexed", key)
		}
	}
	t.Logf("search index: %d items, %d transcripts indexed", items, len(indexed))
}
