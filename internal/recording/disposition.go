package recording

import (
	"strings"
	"unicode/utf8"
)

// ContentDisposition builds an RFC 6266 attachment header for a file name:
// an ASCII fallback for old clients and the exact UTF-8 name as RFC 5987
// filename*, which every current browser and HTTP stack prefers.
func ContentDisposition(name string) string {
	var fallback, ext strings.Builder
	for _, r := range name {
		switch {
		case r == '"' || r == '\\' || r < 0x20 || r == 0x7f:
			fallback.WriteByte('_')
		case r < utf8.RuneSelf:
			fallback.WriteRune(r)
		default:
			fallback.WriteByte('_')
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			ext.WriteByte(b)
		} else {
			ext.WriteByte('%')
			ext.WriteByte("0123456789ABCDEF"[b>>4])
			ext.WriteByte("0123456789ABCDEF"[b&15])
		}
	}
	return `attachment; filename="` + fallback.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar is RFC 5987's attr-char: what may stand unencoded in filename*.
func isAttrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
