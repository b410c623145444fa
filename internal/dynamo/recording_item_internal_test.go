package dynamo

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// everyFieldSet is a recordingItem with every field set to a distinct
// value, by reflection, so a field added later is covered too.
func everyFieldSet(t *testing.T) recordingItem {
	t.Helper()
	var full recordingItem
	v := reflect.ValueOf(&full).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("value-%d", i))
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Pointer:
			p := reflect.New(f.Type().Elem())
			p.Elem().SetInt(int64(2000 + i))
			f.Set(p)
		default:
			t.Fatalf("field %s of kind %s: teach encodeRecording, decodeRecording and their tests about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	return full
}

// The hand-written decoder reads every attribute of recordingItem exactly
// as the reflective one does: each field is set to a distinct value (by
// reflection, so a field added later is covered too), marshalled, and
// decoded both ways; an item with only the keys decodes alike as well.
func TestDecodeRecordingMatchesUnmarshalMap(t *testing.T) {
	full := everyFieldSet(t)
	for name, item := range map[string]recordingItem{"full": full, "keys only": {UserID: "u", RecordingID: "r"}} {
		av, err := attributevalue.MarshalMap(item)
		if err != nil {
			t.Fatal(err)
		}
		var want recordingItem
		if err := attributevalue.UnmarshalMap(av, &want); err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecording(av)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	// A wrong type is an error, as it is for the reflective decoder.
	for _, bad := range []map[string]types.AttributeValue{
		{"size_bytes": &types.AttributeValueMemberS{Value: "12"}},
		{"file_name": &types.AttributeValueMemberN{Value: "12"}},
		{"size_bytes": &types.AttributeValueMemberN{Value: "1.5"}},
	} {
		if _, err := decodeRecording(bad); err == nil || !strings.Contains(err.Error(), "decode recording") {
			t.Errorf("decoding %v: %v, want an error", bad, err)
		}
	}
}

// encodeRecording must write what the reflective encoder writes from the
// struct's tags, for every field, set or left empty.
func TestEncodeRecordingMatchesMarshalMap(t *testing.T) {
	full := everyFieldSet(t)
	zero := int64(0)
	for name, item := range map[string]recordingItem{
		"full": full, "keys only": {UserID: "u", RecordingID: "r"}, "empty": {},
		"zero duration": {UserID: "u", RecordingID: "r", DurationMS: &zero},
	} {
		want, err := attributevalue.MarshalMap(item)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeRecording(item); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, want)
		}
	}
}

// encodeChange must write what the reflective encoder writes: an entry
// with its recording, a removal without one, and the head.
func TestEncodeChangeMatchesMarshalMap(t *testing.T) {
	dur := int64(1500)
	rec := recordingItem{UserID: "u", RecordingID: "r", Status: "available", FileName: "a.m4a", ContentType: "audio/mp4",
		SizeBytes: 10, DurationMS: &dur, CreatedAt: "2026-12-06T07:00:00Z", ObjectKey: "u/r.m4a"}
	for name, item := range map[string]changeItem{
		"upsert":  {UserID: "u", Seq: 7, Op: OpUpsert, RecordingID: "r", Recording: &rec, At: "2026-12-06T07:00:01Z", TTL: 1_800_000_000},
		"removal": {UserID: "u", Seq: 8, Op: OpRemove, RecordingID: "r", At: "2026-12-06T07:00:02Z", TTL: 1_800_000_001},
		"head":    {UserID: "u", Seq: 0, LastSeq: 8},
		"empty":   {},
	} {
		want, err := attributevalue.MarshalMap(item)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeChange(item); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, want)
		}
	}
}
