package dynamo

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// decodeRecording is attributevalue.UnmarshalMap for a recording item,
// without reflection: a list page decodes up to 101 of them per request,
// and the reflective decoder was about a tenth of list's CPU.
// TestDecodeRecordingMatchesUnmarshalMap holds it to the struct's tags.
func decodeRecording(m map[string]types.AttributeValue) (recordingItem, error) {
	var err error
	s := func(name string) string {
		switch v := m[name].(type) {
		case nil:
		case *types.AttributeValueMemberS:
			return v.Value
		default:
			if err == nil {
				err = fmt.Errorf("decode recording: %s is %T, not a string", name, v)
			}
		}
		return ""
	}
	n := func(name string) (int64, bool) {
		switch v := m[name].(type) {
		case nil:
		case *types.AttributeValueMemberN:
			x, perr := strconv.ParseInt(v.Value, 10, 64)
			if perr != nil && err == nil {
				err = fmt.Errorf("decode recording: %s: %w", name, perr)
			}
			return x, true
		default:
			if err == nil {
				err = fmt.Errorf("decode recording: %s is %T, not a number", name, v)
			}
		}
		return 0, false
	}
	it := recordingItem{
		UserID: s("user_id"), RecordingID: s("recording_id"), UserStatus: s("user_status"), Status: s("status"),
		FileName: s("file_name"), ContentType: s("content_type"), Codec: s("codec"),
		RecordedAt: s("recorded_at"), CreatedAt: s("created_at"), UploadedAt: s("uploaded_at"),
		ExpiresAt: s("expires_at"), PurgeAt: s("purge_at"), ObjectKey: s("object_key"), ETag: s("etag"),
		SHA256: s("sha256"), PartsSHA256: s("parts_sha256"), RejectReason: s("reject_reason"), RejectDetail: s("reject_detail"),
		UploadID: s("upload_id"), DueShard: s("due_shard"),
	}
	it.SizeBytes, _ = n("size_bytes")
	if d, ok := n("duration_ms"); ok {
		it.DurationMS = &d
	}
	rate, _ := n("sample_rate_hz")
	channels, _ := n("channels")
	it.SampleRateHz, it.Channels = int(rate), int(channels)
	it.TTL, _ = n("ttl")
	it.PartSize, _ = n("part_size")
	it.DueAt, _ = n("due_at")
	it.LandBy, _ = n("land_by")
	return it, err
}
