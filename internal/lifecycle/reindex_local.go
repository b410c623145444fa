package lifecycle

import (
	"context"
	"sync"
)

// LocalReindex reindexes names in this process, after the request that
// asked: what an asynchronous invoke of the events function does on AWS,
// so a rename costs the API's request one DynamoDB round trip here too.
type LocalReindex struct {
	Keeper *Keeper
	wg     sync.WaitGroup
}

// ReindexName starts the reindex and returns at once. Not under the
// request's context: that ends with the request, and its session guard
// would make the Keeper's reads check the caller's session.
func (l *LocalReindex) ReindexName(_ context.Context, userID, recordingID string) error {
	ctx := context.Background()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := l.Keeper.ReindexName(ctx, userID, recordingID); err != nil {
			l.Keeper.Log.WarnContext(ctx, "reindex name", "recording_id", recordingID, "error", err)
		}
	}()
	return nil
}

// Wait returns once every reindex started so far has finished.
func (l *LocalReindex) Wait() { l.wg.Wait() }
