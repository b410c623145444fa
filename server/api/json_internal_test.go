package api

import (
	"reflect"
	"slices"
	"testing"
)

// jsonFieldNames must list the names encoding/json matches, so that a key
// differing from one of them only in case is caught: an embedded struct's
// fields are promoted (its type name is no field), a tagged embedded struct
// is one named field, and "-" and unexported fields are no field at all.
func TestJSONFieldNamesFollowEncodingJSON(t *testing.T) {
	t.Parallel()
	type Inner struct {
		Depth int `json:"depth"`
	}
	type Promoted struct {
		Level int `json:"level"`
	}
	type Named struct {
		Tagged int `json:"tagged"`
	}
	type body struct {
		Promoted
		Named   `json:"named"`
		Plain   string
		Skipped string `json:"-"`
		hidden  string
		Nested  []Inner `json:"nested,omitempty"`
	}
	_ = body{}.hidden
	got := jsonFieldNames(reflect.TypeOf(&body{}))
	want := []string{"level", "named", "tagged", "Plain", "nested", "depth"}
	if !slices.Equal(got, want) {
		t.Errorf("jsonFieldNames = %q, want %q", got, want)
	}
}
