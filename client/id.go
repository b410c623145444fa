package client

import (
	"strings"
	"unicode"
)

// crockford is the ULID alphabet: digits and letters without I, L, O, U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ValidID is the server's id check, which a client cannot import: 26
// characters of Crockford base32 (either case, as the ULID parser takes
// them), the first at most 7 so the 128 bits do not overflow. An id from
// a server goes into request paths and local file names only after it.
func ValidID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := range len(s) {
		if !strings.ContainsRune(crockford, unicode.ToUpper(rune(s[i]))) {
			return false
		}
	}
	return true
}
