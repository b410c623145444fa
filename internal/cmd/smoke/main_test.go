package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSmokeLeavesNothingBehind runs the smoke check against a local stack
// (whose dev issuer stands in for the provider) and checks it said what it
// did and left the account empty.
func TestSmokeLeavesNothingBehind(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	var out bytes.Buffer
	stdin := strings.NewReader(s.IDToken(t, "smoker") + "\n")
	if err := run(context.Background(), []string{"-api", s.APIURL, "-provider", "dev"}, stdin, &out, nil); err != nil {
		t.Fatalf("smoke: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"sign in with dev", "upload smoke-", "find it in the list", "download it and compare the bytes", "delete it for good", "sign out", "smoke test passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output does not say %q:\n%s", want, out.String())
		}
	}
	token, _ := s.Login(t, "smoker")
	if items := s.List(t, token, "all"); len(items) != 0 {
		t.Errorf("the smoke test left %d recordings", len(items))
	}
	if st := s.Call(t, token, http.MethodGet, "/v1/me", nil, nil); st != http.StatusOK {
		t.Errorf("me: %d", st)
	}
}

// TestSmokeNeedsAToken refuses an empty stdin before any request.
func TestSmokeNeedsAToken(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-api", "http://127.0.0.1:1"}, strings.NewReader("\n"), &out, nil)
	if err == nil || !strings.Contains(err.Error(), "no ID token") {
		t.Fatalf("err = %v; want no ID token", err)
	}
}
