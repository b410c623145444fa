// Package dynamo keeps users, sessions and recordings in DynamoDB.
package dynamo

// The table definitions below are the single source of truth for keys,
// indexes and TTL: the local stack creates tables from them (EnsureTables) and
// the CDK app in infra/ declares the production tables from them.

// AttributeType is a DynamoDB key attribute type.
type AttributeType string

const (
	String AttributeType = "S"
	Number AttributeType = "N"
)

// Key names one key attribute.
type Key struct {
	Name string
	Type AttributeType
}

// Index is a global secondary index.
type Index struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
	// KeysOnly projects only the keys; otherwise every attribute is projected.
	KeysOnly bool
}

// Table is a table definition. Name is the logical name; the physical name is
// the configured prefix followed by it (see TableName).
type Table struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
	Indexes      []Index
	// TTLAttribute holds an epoch-seconds expiry. Every table has one so the
	// convention is the same everywhere; DynamoDB deletes late, so readers
	// also filter on it.
	TTLAttribute string
}

// Logical table names.
const (
	UsersTable       = "users"
	IdentitiesTable  = "identities"
	SessionsTable    = "sessions"
	RecordingsTable  = "recordings"
	IdempotencyTable = "idempotency"
)

// Index names.
const (
	SessionsByUserIndex    = "by-user"
	RecordingsByStateIndex = "by-status"
	// DueIndex is sparse: only items that need the reconciler carry its
	// keys, so a reconcile pass reads the work due and nothing else,
	// however many recordings exist.
	DueIndex = "by-due"
	// DigestIndex is sparse: a recording carries its key (user_digest)
	// once storage verified its content (ledger.go).
	DigestIndex = "by-digest"
)

// dueIndex is the same sparse index on every table the reconciler visits.
var dueIndex = Index{
	Name:         DueIndex,
	PartitionKey: Key{"due_shard", String},
	SortKey:      &Key{"due_at", Number},
	KeysOnly:     true,
}

// TTLAttribute is the expiry attribute name on every table.
const TTLAttribute = "ttl"

// Schema lists every table the backend uses.
var Schema = []Table{
	{
		Name:         UsersTable,
		PartitionKey: Key{"user_id", String},
		Indexes:      []Index{dueIndex},
		TTLAttribute: TTLAttribute,
	},
	{
		// One item per linked social account: "<provider>#<sub>" -> user_id.
		// Its conditional put is what makes a first sign-in atomic.
		Name:         IdentitiesTable,
		PartitionKey: Key{"identity", String},
		TTLAttribute: TTLAttribute,
	},
	{
		// Keyed by the SHA-256 of the bearer token; the token itself is never stored.
		Name:         SessionsTable,
		PartitionKey: Key{"token_hash", String},
		Indexes: []Index{{
			Name:         SessionsByUserIndex,
			PartitionKey: Key{"user_id", String},
			KeysOnly:     true,
		}},
		TTLAttribute: TTLAttribute,
	},
	{
		// Recording ids are ULIDs, so the sort key orders a user's recordings by time.
		Name:         RecordingsTable,
		PartitionKey: Key{"user_id", String},
		SortKey:      &Key{"recording_id", String},
		Indexes: []Index{{
			// user_status = "<user_id>#<status>": one Query serves a page of
			// one status, newest first, without filtering away items.
			Name:         RecordingsByStateIndex,
			PartitionKey: Key{"user_status", String},
			SortKey:      &Key{"recording_id", String},
		}, dueIndex, {
			Name:         DigestIndex,
			PartitionKey: Key{"user_digest", String},
			SortKey:      &Key{"recording_id", String},
		}},
		TTLAttribute: TTLAttribute,
	},
	{
		// A user's Idempotency-Key -> recording id, kept for a day. Keyed
		// by user so deleting an account finds them with one Query.
		Name:         IdempotencyTable,
		PartitionKey: Key{"user_id", String},
		SortKey:      &Key{"idempotency_key", String},
		TTLAttribute: TTLAttribute,
	},
	{
		// Login nonces the API issued (POST /v1/auth/nonce), by the SHA-256
		// of the nonce; a login deletes its nonce conditionally, so each
		// signs in once. Expired ones are refused by the condition and
		// removed by TTL.
		Name:         NoncesTable,
		PartitionKey: Key{"nonce_hash", String},
		TTLAttribute: TTLAttribute,
	},
	sharesTable,
	{
		// The search index, partitioned by user (see SearchTable): a query
		// reads only the caller's postings of its terms.
		Name:         SearchTable,
		PartitionKey: Key{"user_id", String},
		SortKey:      &Key{"k", String},
		TTLAttribute: TTLAttribute,
	},
	{
		// A recording's transcript segments, in chunks that each stay
		// under the item size limit (see transcripts.go); keyed by user so
		// deleting an account finds them with one Query.
		Name:         TranscriptsTable,
		PartitionKey: Key{"user_id", String},
		SortKey:      &Key{"part", String},
		TTLAttribute: TTLAttribute,
	},
	{
		// A user's exports by ULID, and the user's running-export lock
		// ("#running"); running and ready exports are due to the sweep.
		Name:         ExportsTable,
		PartitionKey: Key{"user_id", String},
		SortKey:      &Key{"export_id", String},
		Indexes:      []Index{dueIndex},
		TTLAttribute: TTLAttribute,
	},
	{
		// A user's change feed: changes by seq, kept CHANGES_RETENTION
		// by TTL, and one head item holding the last seq (changes.go).
		Name:         ChangesTable,
		PartitionKey: Key{"user_id", String},
		SortKey:      &Key{"seq", Number},
		TTLAttribute: TTLAttribute,
	},
}

// TableName is the physical name of a logical table under a prefix.
func TableName(prefix, logical string) string { return prefix + logical }
