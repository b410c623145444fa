package devstack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A server that is not DynamoDB Local on the emulator's port (a parallel
// test's listener that took the port first) is not taken for the emulator.
func TestDynamoCheckRefusesAnotherServer(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad request", http.StatusBadRequest)
	}))
	defer other.Close()
	if err := dynamoCheck(other.URL)(context.Background()); err == nil {
		t.Fatal("another server's 400 was taken for DynamoDB Local")
	}
	ddb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", "r1")
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer ddb.Close()
	if err := dynamoCheck(ddb.URL)(context.Background()); err != nil {
		t.Fatalf("DynamoDB's own answer refused: %v", err)
	}
}
