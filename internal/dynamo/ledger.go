package dynamo

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// The backup ledger answers "which of my recordings hold this content?"
// from the sparse by-digest index: a recording carries user_digest
// ("<user_id>#<digest>") only once storage verified its content, so a
// digest a client merely declared is never found, and the user id in the
// key keeps every lookup inside the caller's own recordings.

// ledgerDigest is the digest a confirmed object is found by: its whole
// SHA-256, or for a multipart upload without one, storage's composite of
// its parts ("<base64>-<parts>", which cannot be mistaken for a SHA-256).
func ledgerDigest(obj Object) string {
	if obj.SHA256 != "" {
		return obj.SHA256
	}
	return obj.PartsSHA256
}

func userDigest(userID, digest string) string { return userID + "#" + digest }

// lookupConcurrency bounds the Queries one lookup runs at once.
const lookupConcurrency = 8

// RecordingsByDigest answers, for each digest, the user's recordings
// whose verified content has it, available or in the trash. One Query per
// digest on the index (eventually consistent, as every index read is: a
// recording confirmed a moment ago may be missing for that moment).
func (s *Store) RecordingsByDigest(ctx context.Context, userID string, digests []string) (map[string][]recording.Recording, error) {
	found := make(map[string][]recording.Recording, len(digests))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, lookupConcurrency)
	var wg sync.WaitGroup
	for _, d := range digests {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			recs, err := s.byDigest(ctx, userID, d)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			found[d] = recs
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return found, nil
}

func (s *Store) byDigest(ctx context.Context, userID, digest string) ([]recording.Recording, error) {
	var recs []recording.Recording
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.recordings, IndexName: aws.String(DigestIndex),
		KeyConditionExpression:    aws.String("user_digest = :ud"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":ud": str(userDigest(userID, digest))},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("look up digest: %w", err)
		}
		for _, av := range out.Items {
			it, err := decodeRecording(av)
			if err != nil {
				return nil, err
			}
			if r := it.domain(); r.UserID == userID && (r.Status == recording.StatusAvailable || r.Status == recording.StatusDeleted) {
				recs = append(recs, r)
			}
		}
	}
	return recs, nil
}
