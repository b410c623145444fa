package lifecycle

import (
	"context"

	"github.com/voicerec/backend/internal/recording"
)

// deleteExports removes an account's archives, then their records: an
// archive holds every recording, so it goes with them. A worker still
// writing one finds its record gone when it finishes, and deletes what it
// published.
func (k *Keeper) deleteExports(ctx context.Context, userID string) error {
	if k.Exports == nil {
		return nil
	}
	if _, err := k.Objects.DeletePrefix(ctx, recording.ExportPrefix+userID+"/"); err != nil {
		return err
	}
	return k.Exports.DeleteUser(ctx, userID)
}
