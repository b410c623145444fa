package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIYAML is compiled in so the served contract is always the one this
// binary was built and tested with; a file read at run time could differ.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIDocument returns the API's OpenAPI 3.1 document. The caller gets a
// copy, so no one can change what the server serves.
func OpenAPIDocument() []byte {
	return append([]byte(nil), openAPIYAML...)
}

// serveOpenAPI serves the document to app developers and client generators.
func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPIYAML)
}
