package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/search"
)

// SearchTable is the search index: an inverted index partitioned by user,
// so a query reads the caller's postings of its terms and nothing of any
// other user's, and its cost does not grow with theirs. Sort keys:
//
//	t#<term>#<recording id>#<n|x>  a posting: the term in the name (n) or transcript (x);
//	                                c = count, s = the first segments it occurs in
//	d#<recording id>#<n|x>         a field's terms (to take them out again) and its text
//	s#<recording id>#<chunk>       up to segmentsPerChunk transcript segments, for snippets
//
// One Query per query term (the key range t#<term>#...) finds every recording
// holding it; a BatchGetItem then reads the best recordings' current records
// and the segments their snippets come from.
const SearchTable = "search"

const (
	fieldName       = "n"
	fieldTranscript = "x"
	// segmentsPerChunk segments of at most maxSegmentBytes each keep a
	// chunk item under DynamoDB's 400 KB: 200 × (1,200 + ~80) bytes.
	segmentsPerChunk = 200
	maxSegmentBytes  = 1200
	// maxTermsPerField bounds a field's term list, held in one item: 30,000
	// terms of ~8 bytes. Speech past it (weeks of audio) is searchable by
	// its first 30,000 distinct terms.
	maxTermsPerField = 30000
	// maxPostingPages bounds the pages one term's Query may read: a term
	// in 100,000 of a user's recordings still answers, ranked over the
	// first pages.
	maxPostingPages = 8
	// maxSearchWaves bounds the BatchGetItems that look for visible
	// recordings down the ranking (when the best ones are in the trash).
	maxSearchWaves = 4
)

func fieldCode(f search.Field) string {
	if f == search.FieldName {
		return fieldName
	}
	return fieldTranscript
}

func searchKey(userID, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"user_id": str(userID), "k": str(key)}
}

func postingKey(term, recordingID, field string) string {
	return "t#" + term + "#" + recordingID + "#" + field
}

func chunkKey(recordingID string, chunk int) string {
	return fmt.Sprintf("s#%s#%04d", recordingID, chunk)
}

// IndexName makes a recording findable by its name, replacing what its
// previous name put in the index.
func (s *Store) IndexName(ctx context.Context, userID, recordingID, name string) error {
	return s.indexField(ctx, userID, recordingID, fieldName, search.NamePostings(recordingID, name),
		map[string]types.AttributeValue{"name": str(name)}, nil)
}

// IndexTranscript makes a recording findable by what was said in it,
// replacing an earlier transcript's terms. The transcript engine's
// completion calls it (TranscriptReady), once a transcript is stored.
func (s *Store) IndexTranscript(ctx context.Context, userID, recordingID, language string, segs []search.Segment) error {
	chunks := (len(segs) + segmentsPerChunk - 1) / segmentsPerChunk
	var puts []types.WriteRequest
	for c := range chunks {
		part := segs[c*segmentsPerChunk : min(len(segs), (c+1)*segmentsPerChunk)]
		b, err := json.Marshal(encodeSegments(part))
		if err != nil {
			return fmt.Errorf("encode segments: %w", err)
		}
		item := searchKey(userID, chunkKey(recordingID, c))
		item["segs"] = str(string(b))
		puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	doc := map[string]types.AttributeValue{"chunks": num(int64(chunks)), "segments": num(int64(len(segs)))}
	if language != "" {
		doc["lang"] = str(language)
	}
	return s.indexField(ctx, userID, recordingID, fieldTranscript, search.TranscriptPostings(recordingID, segs), doc, puts)
}

// IndexRecording indexes a recording's name and transcript together.
func (s *Store) IndexRecording(ctx context.Context, userID string, doc search.Document) error {
	if err := s.IndexName(ctx, userID, doc.RecordingID, doc.Name); err != nil {
		return err
	}
	return s.IndexTranscript(ctx, userID, doc.RecordingID, "", doc.Segments)
}

// indexField writes a field's postings and its doc item (with extra
// attributes and extra writes), and deletes the postings and chunks of the
// field's previous text that the new one does not have. fresh: the field
// was never indexed, so there is nothing to read or delete.
func (s *Store) indexField(ctx context.Context, userID, recordingID, field string, ps []search.Posting,
	doc map[string]types.AttributeValue, extra []types.WriteRequest) error {
	if len(ps) > maxTermsPerField {
		ps = ps[:maxTermsPerField]
	}
	docKey := "d#" + recordingID + "#" + field
	old, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.search, Key: searchKey(userID, docKey), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("terms, chunks"),
	})
	if err != nil {
		return fmt.Errorf("read search document: %w", err)
	}
	terms := make([]string, len(ps))
	writes := make([]types.WriteRequest, 0, len(ps)+len(extra)+1)
	for i, p := range ps {
		terms[i] = p.Term
		item := searchKey(userID, postingKey(p.Term, recordingID, field))
		item["c"] = num(int64(p.Count))
		if len(p.Segments) > 0 {
			item["s"] = str(joinInts(p.Segments))
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	writes = append(writes, extra...)
	item := searchKey(userID, docKey)
	item["terms"] = str(strings.Join(terms, " "))
	for k, v := range doc {
		item[k] = v
	}
	// The doc item goes last: until it is written, a failed index run is
	// retried from the old one, whose terms still name what to delete.
	oldTerms, oldChunks := docTerms(old.Item)
	keep := make(map[string]bool, len(terms))
	for _, t := range terms {
		keep[t] = true
	}
	for _, t := range oldTerms {
		if !keep[t] {
			writes = append(writes, deleteReq(userID, postingKey(t, recordingID, field)))
		}
	}
	newChunks := 0
	if c, ok := doc["chunks"].(*types.AttributeValueMemberN); ok {
		newChunks, _ = strconv.Atoi(c.Value)
	}
	for c := newChunks; c < oldChunks; c++ {
		writes = append(writes, deleteReq(userID, chunkKey(recordingID, c)))
	}
	if err := s.batchWrite(ctx, writes); err != nil {
		return err
	}
	return s.batchWrite(ctx, []types.WriteRequest{{PutRequest: &types.PutRequest{Item: item}}})
}

func deleteReq(userID, key string) types.WriteRequest {
	return types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: searchKey(userID, key)}}
}

func docTerms(item map[string]types.AttributeValue) (terms []string, chunks int) {
	if v, ok := item["terms"].(*types.AttributeValueMemberS); ok && v.Value != "" {
		terms = strings.Split(v.Value, " ")
	}
	if v, ok := item["chunks"].(*types.AttributeValueMemberN); ok {
		chunks, _ = strconv.Atoi(v.Value)
	}
	return terms, chunks
}

// Unindex takes a recording out of the search index: the postings its doc
// items name, the doc items and the segment chunks.
func (s *Store) Unindex(ctx context.Context, userID, recordingID string) error {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.search,
		KeyConditionExpression: aws.String("user_id = :u AND k BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": str(userID), ":lo": str("d#" + recordingID + "#"), ":hi": str("d#" + recordingID + "#~"),
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("read search documents: %w", err)
	}
	var writes, docs []types.WriteRequest
	for _, item := range out.Items {
		key := item["k"].(*types.AttributeValueMemberS).Value
		field := key[strings.LastIndexByte(key, '#')+1:]
		terms, chunks := docTerms(item)
		for _, t := range terms {
			writes = append(writes, deleteReq(userID, postingKey(t, recordingID, field)))
		}
		for c := range chunks {
			writes = append(writes, deleteReq(userID, chunkKey(recordingID, c)))
		}
		docs = append(docs, deleteReq(userID, key))
	}
	if err := s.batchWrite(ctx, writes); err != nil {
		return err
	}
	// Doc items last, as in indexField: a failed run is retried whole.
	return s.batchWrite(ctx, docs)
}

// deleteSearchIndex removes every search item of a user (account deletion).
func (s *Store) deleteSearchIndex(ctx context.Context, userID string) error {
	return deletePartition(ctx, s.db, s.search, "k", userID)
}

// batchWriteConcurrency is how many BatchWriteItems one index run keeps in
// flight: a three-minute transcript is a dozen batches.
const batchWriteConcurrency = 4

// batchWrite applies writes to the search table in batches of 25 (retrying
// what DynamoDB hands back unprocessed), a few batches at a time.
func (s *Store) batchWrite(ctx context.Context, writes []types.WriteRequest) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(batchWriteConcurrency)
	for batch := range slices.Chunk(writes, 25) {
		g.Go(func() error {
			pending := map[string][]types.WriteRequest{s.search: batch}
			for attempt := 0; len(pending) > 0; attempt++ {
				if attempt > 0 {
					if attempt > 8 {
						return fmt.Errorf("write search index: items left unprocessed")
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
					}
				}
				out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
				if err != nil {
					return fmt.Errorf("write search index: %w", err)
				}
				pending = out.UnprocessedItems
			}
			return nil
		})
	}
	return g.Wait()
}

func joinInts(xs []int) string {
	b := make([]byte, 0, 4*len(xs))
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return string(b)
}

func splitInts(s string) []int {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err == nil && n >= 0 {
			out = append(out, n)
		}
	}
	return out
}

// storedSegment is a segment as a chunk keeps it: [start, end, speaker, text].
type storedSegment [4]any

func encodeSegments(segs []search.Segment) []storedSegment {
	out := make([]storedSegment, len(segs))
	for i, sg := range segs {
		text := sg.Text
		if len(text) > maxSegmentBytes {
			text = strings.ToValidUTF8(text[:maxSegmentBytes], "")
		}
		out[i] = storedSegment{sg.StartMS, sg.EndMS, sg.Speaker, text}
	}
	return out
}

func decodeSegments(raw string) ([]search.Segment, error) {
	var rows [][4]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		return nil, fmt.Errorf("decode segments: %w", err)
	}
	out := make([]search.Segment, len(rows))
	for i, row := range rows {
		sg := &out[i]
		for j, dst := range []any{&sg.StartMS, &sg.EndMS, &sg.Speaker, &sg.Text} {
			if err := json.Unmarshal(row[j], dst); err != nil {
				return nil, fmt.Errorf("decode segments: %w", err)
			}
		}
	}
	return out, nil
}

// SearchRequest is one search of a user's recordings.
type SearchRequest struct {
	Terms []string // search.QueryTerms of the query
	// Statuses a result may be in now; a recording in another (the trash,
	// unless asked for), or gone, is passed over.
	Statuses []recording.Status
	Limit    int
}

// SearchResult is one recording found, best first.
type SearchResult struct {
	Recording recording.Recording
	Hit       search.Hit
	// Segments are the hit's segments, by index, for its snippets.
	Segments map[int]search.Segment
}

// Search finds the user's recordings holding every term, best first, in
// one Query per term (in parallel) and, usually, one BatchGetItem for the
// best hits' current records and the segments their snippets need. What
// each hit is now is read from the recordings table at query time, so a
// trashed, purged or rejected recording never shows where it should not,
// whatever the index still holds.
func (s *Store) Search(ctx context.Context, userID string, req SearchRequest, now time.Time) ([]SearchResult, error) {
	if len(req.Terms) == 0 || req.Limit < 1 {
		return nil, nil
	}
	sess := s.readSessionAsync(ctx)
	postings := make([][]search.Posting, len(req.Terms))
	g, gctx := errgroup.WithContext(carrying(ctx))
	for i, term := range req.Terms {
		g.Go(func() (err error) {
			postings[i], err = s.termPostings(gctx, userID, term)
			return err
		})
	}
	err := g.Wait()
	if serr := sess.wait(); serr != nil {
		return nil, serr
	}
	if err != nil {
		return nil, err
	}
	all := slices.Concat(postings...)
	hits := search.Rank(req.Terms, all)
	spoken := map[string]map[string]bool{} // recording id -> terms its transcript holds
	for _, p := range all {
		if p.Field == search.FieldTranscript {
			if spoken[p.RecordingID] == nil {
				spoken[p.RecordingID] = map[string]bool{}
			}
			spoken[p.RecordingID][p.Term] = true
		}
	}
	names := nameCheck{terms: req.Terms, spoken: spoken}
	want := map[recording.Status]bool{}
	for _, st := range req.Statuses {
		want[st] = true
	}
	var results []SearchResult
	for wave := 0; wave < maxSearchWaves && len(hits) > 0 && len(results) < req.Limit; wave++ {
		// Ask for a few more than missing: some may be passed over.
		n := min(len(hits), req.Limit-len(results)+2)
		found, err := s.searchWave(carrying(ctx), userID, hits[:n], want, names, now)
		if err != nil {
			return nil, err
		}
		results = append(results, found...)
		hits = hits[n:]
	}
	return results[:min(len(results), req.Limit)], nil
}

// prefixEnd closes a key range that begins with a prefix: what follows the
// prefix is a recording id (Crockford base32) and "#n"/"#x", all below '~'.
// A range, not begins_with: the same index read on DynamoDB, but DynamoDB
// Local scans the whole partition for begins_with (443 ms against 5 ms for
// one term of a user with 300 transcripts).
const prefixEnd = "~"

// termPostings reads every posting of one term in the user's partition.
func (s *Store) termPostings(ctx context.Context, userID, term string) ([]search.Posting, error) {
	prefix := "t#" + term + "#"
	in := &dynamodb.QueryInput{
		TableName:              &s.search,
		KeyConditionExpression: aws.String("user_id = :u AND k BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": str(userID), ":lo": str(prefix), ":hi": str(prefix + prefixEnd),
		},
		ProjectionExpression: aws.String("k, c, s"),
	}
	var out []search.Posting
	for page := 0; page < maxPostingPages; page++ {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read postings: %w", err)
		}
		for _, item := range res.Items {
			k, _ := item["k"].(*types.AttributeValueMemberS)
			if k == nil || !strings.HasPrefix(k.Value, prefix) {
				continue
			}
			rest := k.Value[len(prefix):] // <recording id>#<field>
			i := strings.LastIndexByte(rest, '#')
			if i < 0 {
				continue
			}
			p := search.Posting{Term: term, RecordingID: rest[:i], Field: search.FieldTranscript}
			if rest[i+1:] == fieldName {
				p.Field = search.FieldName
			}
			if c, ok := item["c"].(*types.AttributeValueMemberN); ok {
				p.Count, _ = strconv.Atoi(c.Value)
			}
			if sv, ok := item["s"].(*types.AttributeValueMemberS); ok {
				p.Segments = splitInts(sv.Value)
			}
			out = append(out, p)
		}
		if res.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	return out, nil
}

var searchProjection = listProjection + ", #ttl"

// searchWave reads the hits' records and snippet chunks in one
// BatchGetItem (more when over its 100 keys) and keeps those whose record
// is, now, in a wanted status.
func (s *Store) searchWave(ctx context.Context, userID string, hits []search.Hit, want map[recording.Status]bool,
	names nameCheck, now time.Time) ([]SearchResult, error) {
	var recKeys, chunkKeys []map[string]types.AttributeValue
	seenChunk := map[string]bool{}
	for _, h := range hits {
		recKeys = append(recKeys, recKey(userID, h.RecordingID))
		for _, seg := range h.Segments {
			ck := chunkKey(h.RecordingID, seg/segmentsPerChunk)
			if !seenChunk[ck] {
				seenChunk[ck] = true
				chunkKeys = append(chunkKeys, searchKey(userID, ck))
			}
		}
	}
	recs := map[string]recording.Recording{}
	chunks := map[string]string{}
	err := s.batchGet(ctx, recKeys, chunkKeys, func(table string, item map[string]types.AttributeValue) error {
		if table == s.recordings {
			it, err := decodeRecording(item)
			if err != nil {
				return err
			}
			if it.TTL != 0 && it.TTL <= now.Unix() {
				return nil // past its retention, deleted late by TTL
			}
			recs[it.RecordingID] = it.domain()
			return nil
		}
		if k, ok := item["k"].(*types.AttributeValueMemberS); ok {
			if v, ok := item["segs"].(*types.AttributeValueMemberS); ok {
				chunks[k.Value] = v.Value
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []SearchResult
	for _, h := range hits {
		rec, ok := recs[h.RecordingID]
		if !ok || !want[rec.Status] {
			continue
		}
		if h.InName {
			if h.InName, ok = names.holds(rec); !ok {
				continue
			}
		}
		r := SearchResult{Recording: rec, Hit: h, Segments: map[int]search.Segment{}}
		decoded := map[int][]search.Segment{}
		for _, seg := range h.Segments {
			c := seg / segmentsPerChunk
			segs, ok := decoded[c]
			if !ok {
				raw, found := chunks[chunkKey(h.RecordingID, c)]
				if found {
					if segs, err = decodeSegments(raw); err != nil {
						return nil, err
					}
				}
				decoded[c] = segs
			}
			if i := seg % segmentsPerChunk; i < len(segs) {
				r.Segments[seg] = segs[i]
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// batchGet reads recording and search items together, up to 100 keys per
// BatchGetItem, retrying what comes back unprocessed.
func (s *Store) batchGet(ctx context.Context, recKeys, searchKeys []map[string]types.AttributeValue,
	fn func(table string, item map[string]types.AttributeValue) error) error {
	type key struct {
		table string
		key   map[string]types.AttributeValue
	}
	all := make([]key, 0, len(recKeys)+len(searchKeys))
	for _, k := range recKeys {
		all = append(all, key{s.recordings, k})
	}
	for _, k := range searchKeys {
		all = append(all, key{s.search, k})
	}
	for batch := range slices.Chunk(all, 100) {
		req := map[string]types.KeysAndAttributes{}
		for _, k := range batch {
			ka := req[k.table]
			ka.Keys = append(ka.Keys, k.key)
			if k.table == s.recordings {
				ka.ProjectionExpression = &searchProjection
				ka.ExpressionAttributeNames = map[string]string{"#st": "status", "#ttl": TTLAttribute}
			}
			req[k.table] = ka
		}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if attempt > 8 {
					return fmt.Errorf("search: keys left unprocessed")
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("search: read results: %w", err)
			}
			for table, items := range out.Responses {
				for _, item := range items {
					if err := fn(table, item); err != nil {
						return err
					}
				}
			}
			req = out.UnprocessedKeys
		}
	}
	return nil
}

// nameCheck holds a hit's name match to the recording's current name. A
// rename answers before its name is reindexed (by the events function), so
// the index may still hold the old name's postings for a while: a term
// found only there does not count.
type nameCheck struct {
	terms  []string
	spoken map[string]map[string]bool
}

// holds says whether rec still has every query term in its current name
// or its transcript, and whether its name has any. A pending recording's
// name counts for nothing: its name is indexed as it is confirmed, a
// moment before the record says so.
func (c nameCheck) holds(rec recording.Recording) (inName, ok bool) {
	current := map[string]bool{}
	if rec.Status != recording.StatusPending {
		for _, t := range search.Terms(search.NameText(rec.FileName)) {
			current[t] = true
		}
	}
	for _, t := range c.terms {
		switch {
		case current[t]:
			inName = true
		case c.spoken[rec.ID][t]:
		default:
			return false, false
		}
	}
	return inName, true
}
