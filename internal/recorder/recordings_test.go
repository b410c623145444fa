package recorder

import (
	"strings"
	"testing"
)

// An Idempotency-Key is 1 to 255 visible ASCII characters, as the API
// document says; its edges are accepted, one step past them is not.
func TestIdempotencyKeyBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{
		{"one character", "a", true},
		{"255 characters", strings.Repeat("k", 255), true},
		{"the lowest visible character", "!", true},
		{"the highest visible character", "~", true},
		{"a UUID", "6f1c1a9e-3a0b-4c7e-9d51-2b0c8f4e7a10", true},
		{"empty", "", false},
		{"256 characters", strings.Repeat("k", 256), false},
		{"a space", "a b", false},
		{"DEL", "a\x7f", false},
		{"a non-ASCII letter", "caf\u00e9", false},
	} {
		if got := ValidIdempotencyKey(tc.key); got != tc.ok {
			t.Errorf("%s: ValidIdempotencyKey(%q) = %v, want %v", tc.name, tc.key, got, tc.ok)
		}
	}
}
