package recording

// DeleteOutcome says what a user's delete of a recording did.
type DeleteOutcome string

// A plain delete of an available recording trashes it; one of a recording
// already in the trash changes nothing, so a retried or repeated delete
// answers as the first did; purge (and every delete of a recording that has
// no trash: pending, rejected, half deleted) deletes for good.
const (
	DeleteTrashed        DeleteOutcome = "trashed"
	DeleteAlreadyInTrash DeleteOutcome = "already_in_trash"
	DeleteDeleted        DeleteOutcome = "deleted"
)

// Deletion is the answer to a delete: its outcome and, while the recording
// is in the trash, the recording as it is there (nil once deleted for good).
type Deletion struct {
	Outcome   DeleteOutcome `json:"outcome"`
	Recording *Recording    `json:"recording,omitempty"`
}
