package stack

import (
	"net/url"
	"strings"
	"testing"
)

// ObjectKey is the key a presigned URL of the stack's bucket writes to.
func (s *Stack) ObjectKey(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := strings.CutPrefix(u.Path, "/"+s.Config.Bucket+"/")
	if !ok {
		t.Fatalf("URL path %q is not in bucket %s", u.Path, s.Config.Bucket)
	}
	return key
}
