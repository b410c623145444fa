package api_test

import (
	"net/http"
	"testing"

	"github.com/voicerec/backend/internal/testenv/contract"
)

// contractClient validates every request and response against the OpenAPI
// document, so the document cannot drift from what the server does.
func contractClient(t *testing.T) *http.Client {
	return contract.Load(t).Client(t, http.DefaultTransport)
}
