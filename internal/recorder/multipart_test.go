package recorder

import (
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/config"
)

// The bounds of one parts or complete request, at their edges: one part is
// a whole upload (a file of exactly one part size), and S3's 10,000 parts
// must fit one complete.
func TestMultipartRequestBounds(t *testing.T) {
	t.Parallel()
	const digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	parts := func(n int) *CompleteRequest {
		r := &CompleteRequest{Parts: make([]CompletePart, n)}
		for i := range r.Parts {
			r.Parts[i] = CompletePart{PartNumber: i + 1, ETag: `"etag"`, SHA256: digest}
		}
		return r
	}
	etag := func(e string) *CompleteRequest {
		return &CompleteRequest{Parts: []CompletePart{{PartNumber: 1, ETag: e, SHA256: digest}}}
	}
	numbers := func(n int) *PartsRequest {
		r := &PartsRequest{Parts: make([]PartDigest, n)}
		for i := range r.Parts {
			r.Parts[i] = PartDigest{PartNumber: i + 1, SHA256: digest}
		}
		return r
	}
	for _, tc := range []struct {
		name string
		req  interface{ Validate() error }
		ok   bool
	}{
		{"complete of no part", parts(0), false},
		{"complete of one part", parts(1), true},
		{"complete of S3's most parts", parts(config.MaxParts), true},
		{"complete of one part more", parts(config.MaxParts + 1), false},
		{"an empty etag", etag(""), false},
		{"an etag of the longest accepted", etag(strings.Repeat("e", 128)), true},
		{"an etag longer than any storage answers", etag(strings.Repeat("e", 129)), false},
		{"no part numbers", numbers(0), false},
		{"one part number", numbers(1), true},
		{"the most part numbers at once", numbers(MaxPartsPerRequest), true},
		{"one part number more", numbers(MaxPartsPerRequest + 1), false},
		{"a part without its digest", &PartsRequest{Parts: []PartDigest{{PartNumber: 1}}}, false},
		{"the older form without digests", &PartsRequest{PartNumbers: []int{1}}, false},
		{"a complete without a part's digest", &CompleteRequest{Parts: []CompletePart{{PartNumber: 1, ETag: "e"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.req.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
