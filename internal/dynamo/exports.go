package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// ExportsTable holds each user's exports and, beside them, the user's
// running-export lock.
const ExportsTable = "exports"

// exportLockID is the sort key of a user's lock item: '#' sorts before
// every ULID, so a newest-first listing meets it last.
const exportLockID = "#running"

// exportDueShard is the by-due partition of exports: a running export is
// due when its worker's lease ends (the sweep fails it), a ready one when
// it expires (the sweep deletes its archive).
const exportDueShard = "exports"

// Exports keeps export records. One running export per user is held by a
// lock item written in the same transaction as the export.
type Exports struct {
	db    *dynamodb.Client
	table string
}

// NewExports returns the export store over the table named with prefix.
func NewExports(db *dynamodb.Client, prefix string) *Exports {
	return &Exports{db: db, table: TableName(prefix, ExportsTable)}
}

// ErrExportRunning refuses a second export while one runs.
var ErrExportRunning = recording.Errorf(recording.CodeConflict, "an export of your recordings is already running; wait for it to finish")

func exportKey(userID, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"user_id": str(userID), "export_id": str(id)}
}

// Start records ex as running and takes the user's lock until leaseUntil,
// in one transaction: of two starts racing, one wins; a lock whose lease
// ended (its worker and every retry are gone) is taken over. 2 writes, 4 WRU.
func (e *Exports) Start(ctx context.Context, ex recording.Export, leaseUntil, now time.Time) error {
	statuses := make([]string, len(ex.Statuses))
	for i, s := range ex.Statuses {
		statuses[i] = string(s)
	}
	item := map[string]types.AttributeValue{
		"user_id": str(ex.UserID), "export_id": str(ex.ID), "status": str(string(recording.ExportRunning)),
		"statuses":            &types.AttributeValueMemberSS{Value: statuses},
		"include_transcripts": &types.AttributeValueMemberBOOL{Value: ex.IncludeTranscripts},
		"recordings_done":     num(0), "recordings_total": num(0), "attempts": num(0),
		"created_at": str(ts(ex.CreatedAt)), "expires_at": num(ex.ExpiresAt.Unix()), "object_key": str(ex.Key),
		TTLAttribute: num(ex.ExpiresAt.Unix()),
		"due_shard":  str(exportDueShard), "due_at": num(leaseUntil.Unix()),
	}
	lock := map[string]types.AttributeValue{
		"user_id": str(ex.UserID), "export_id": str(exportLockID), "running_id": str(ex.ID),
		"lease_until": num(leaseUntil.Unix()), TTLAttribute: num(leaseUntil.Add(time.Hour).Unix()),
	}
	_, err := e.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: &e.table, Item: lock,
			ConditionExpression:       aws.String("attribute_not_exists(user_id) OR lease_until < :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		}},
		{Put: &types.Put{TableName: &e.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(user_id)")}},
	}})
	if conditionFailed(err) || transactionConflict(err) {
		return ErrExportRunning
	}
	if err != nil {
		return fmt.Errorf("start export: %w", err)
	}
	return nil
}

// Get reads one export; ok is false when there is none or it expired.
func (e *Exports) Get(ctx context.Context, userID, id string, now time.Time) (ex recording.Export, ok bool, err error) {
	out, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.table, Key: exportKey(userID, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return ex, false, fmt.Errorf("get export: %w", err)
	}
	if out.Item == nil {
		return ex, false, nil
	}
	ex = exportFromItem(out.Item)
	if !ex.ExpiresAt.After(now) {
		return ex, false, nil
	}
	return ex, true, nil
}

// List returns a user's most recent exports, newest first, at most limit
// (and the lock item, skipped). One Query.
func (e *Exports) List(ctx context.Context, userID string, limit int, now time.Time) ([]recording.Export, error) {
	out, err := e.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &e.table,
		KeyConditionExpression:    aws.String("user_id = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit + 1)),
	})
	if err != nil {
		return nil, fmt.Errorf("list exports: %w", err)
	}
	list := []recording.Export{}
	for _, it := range out.Items {
		ex := exportFromItem(it)
		if ex.ID == exportLockID || !ex.ExpiresAt.After(now) || len(list) == limit {
			continue
		}
		list = append(list, ex)
	}
	return list, nil
}

// Claim starts one attempt of the worker on a running export: it counts
// the attempt and moves the lease (when the sweep may fail it) to
// leaseUntil. ok is false when the export is no longer running or its
// attempts are spent: the worker then does nothing. 1 write.
func (e *Exports) Claim(ctx context.Context, userID, id string, maxAttempts int, leaseUntil time.Time) (ex recording.Export, ok bool, err error) {
	out, err := e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &e.table, Key: exportKey(userID, id),
		UpdateExpression:         aws.String("SET attempts = attempts + :one, due_at = :lease, recordings_done = :zero"),
		ConditionExpression:      aws.String("#st = :running AND attempts < :max"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": num(1), ":zero": num(0), ":lease": num(leaseUntil.Unix()), ":max": num(int64(maxAttempts)),
			":running": str(string(recording.ExportRunning)),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return ex, false, nil
	}
	if err != nil {
		return ex, false, fmt.Errorf("claim export: %w", err)
	}
	return exportFromItem(out.Attributes), true, nil
}

// Progress records how far a running export is. 1 write.
func (e *Exports) Progress(ctx context.Context, userID, id string, done, total int) error {
	_, err := e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &e.table, Key: exportKey(userID, id),
		UpdateExpression:          aws.String("SET recordings_done = :d, recordings_total = :t"),
		ConditionExpression:       aws.String("#st = :running"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(int64(done)), ":t": num(int64(total)), ":running": str(string(recording.ExportRunning))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("export progress: %w", err)
	}
	return nil
}

// Finish marks a running export ready (the archive is published) and
// releases the user's lock. It becomes due at expiresAt, when the sweep
// deletes the archive. ok is false when it was no longer running.
func (e *Exports) Finish(ctx context.Context, userID, id string, size int64, total int, finished, expiresAt time.Time) (ok bool, err error) {
	_, err = e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &e.table, Key: exportKey(userID, id),
		UpdateExpression:         aws.String("SET #st = :ready, size_bytes = :size, recordings_done = :n, recordings_total = :n, finished_at = :fin, expires_at = :exp, #ttl = :exp, due_at = :exp"),
		ConditionExpression:      aws.String("#st = :running"),
		ExpressionAttributeNames: map[string]string{"#st": "status", "#ttl": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":ready": str(string(recording.ExportReady)), ":running": str(string(recording.ExportRunning)),
			":size": num(size), ":n": num(int64(total)), ":fin": str(ts(finished)), ":exp": num(expiresAt.Unix()),
		},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish export: %w", err)
	}
	return true, e.release(ctx, userID, id)
}

// Fail marks a running export failed with reason and releases the lock.
// A failed export is no longer due: it has no archive to delete.
func (e *Exports) Fail(ctx context.Context, userID, id, reason string, finished time.Time) error {
	_, err := e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &e.table, Key: exportKey(userID, id),
		UpdateExpression:         aws.String("SET #st = :failed, failure_reason = :r, finished_at = :fin REMOVE due_shard, due_at"),
		ConditionExpression:      aws.String("#st = :running"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":failed": str(string(recording.ExportFailed)), ":running": str(string(recording.ExportRunning)),
			":r": str(reason), ":fin": str(ts(finished)),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("fail export: %w", err)
	}
	return e.release(ctx, userID, id)
}

// release deletes the user's lock if this export still holds it.
func (e *Exports) release(ctx context.Context, userID, id string) error {
	_, err := e.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &e.table, Key: exportKey(userID, exportLockID),
		ConditionExpression:       aws.String("running_id = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id)},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release export lock: %w", err)
	}
	return nil
}

// Delete removes an export's record (its archive is already gone).
func (e *Exports) Delete(ctx context.Context, userID, id string) error {
	if _, err := e.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &e.table, Key: exportKey(userID, id)}); err != nil {
		return fmt.Errorf("delete export: %w", err)
	}
	return nil
}

// Due returns up to limit exports whose lease or retention ended by now,
// from the sparse by-due index (keys only), then read whole.
func (e *Exports) Due(ctx context.Context, now time.Time, limit int) ([]recording.Export, error) {
	out, err := e.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &e.table, IndexName: aws.String(DueIndex),
		KeyConditionExpression:    aws.String("due_shard = :s AND due_at <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(exportDueShard), ":now": num(now.Unix())},
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("due exports: %w", err)
	}
	var due []recording.Export
	for _, k := range out.Items {
		got, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.table, Key: map[string]types.AttributeValue{
			"user_id": k["user_id"], "export_id": k["export_id"]}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("read due export: %w", err)
		}
		if got.Item != nil {
			due = append(due, exportFromItem(got.Item))
		}
	}
	return due, nil
}

func exportFromItem(it map[string]types.AttributeValue) recording.Export {
	s := func(k string) string {
		if v, ok := it[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	n := func(k string) int64 {
		if v, ok := it[k].(*types.AttributeValueMemberN); ok {
			x, _ := strconv.ParseInt(v.Value, 10, 64)
			return x
		}
		return 0
	}
	ex := recording.Export{
		UserID: s("user_id"), ID: s("export_id"), Status: recording.ExportStatus(s("status")),
		RecordingsDone: int(n("recordings_done")), RecordingsTotal: int(n("recordings_total")),
		SizeBytes: n("size_bytes"), FailureReason: s("failure_reason"), CreatedAt: parseTS(s("created_at")),
		ExpiresAt: time.Unix(n("expires_at"), 0).UTC(), Attempts: int(n("attempts")), Key: s("object_key"),
	}
	if ss, ok := it["statuses"].(*types.AttributeValueMemberSS); ok {
		for _, v := range ss.Value {
			ex.Statuses = append(ex.Statuses, recording.Status(v))
		}
	}
	if b, ok := it["include_transcripts"].(*types.AttributeValueMemberBOOL); ok {
		ex.IncludeTranscripts = b.Value
	}
	if f := s("finished_at"); f != "" {
		t := parseTS(f)
		ex.FinishedAt = &t
	}
	if ex.ID == exportLockID {
		ex.ExpiresAt = time.Unix(n("lease_until"), 0).UTC()
	}
	return ex
}

// DeleteUser removes every export record of userID and the user's lock,
// for an account deletion. One Query (keys only) and batched deletes.
func (e *Exports) DeleteUser(ctx context.Context, userID string) error {
	return deletePartition(ctx, e.db, e.table, "export_id", userID)
}
