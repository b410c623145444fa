package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recording"
)

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // file names and URLs read as they are
	return enc.Encode(v)
}

// writeJSON sends v with status.
func writeJSON(c echo.Context, status int, v any) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c.Response().WriteHeader(status)
	return jsonEncode(c.Response(), v)
}

// validator is implemented by request types that check themselves.
type validator interface{ validate() error }

// decode reads one JSON object into dst, strictly: unknown fields, trailing
// data and wrong types are a 400 with a message naming the problem, and an
// oversized body a 413. It then runs dst's own validation.
func decode(c echo.Context, dst validator) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), echo.MIMEApplicationJSON) {
		return recording.Errorf(recording.CodeInvalidRequest, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return recording.Errorf(recording.CodeInvalidRequest, "request body must hold a single JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return decodeError(err)
		}
		return recording.Errorf(recording.CodeInvalidRequest, "request body must hold a single JSON object")
	}
	return dst.validate()
}

func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return recording.Errorf(recording.CodeBodyTooLarge, "request body larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return recording.Errorf(recording.CodeInvalidRequest, "request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return recording.Errorf(recording.CodeInvalidRequest, "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field != "" {
			return recording.Errorf(recording.CodeInvalidRequest, "field %q must be a %s", typ.Field, jsonKind(typ.Type.Kind().String()))
		}
		return recording.Errorf(recording.CodeInvalidRequest, "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return recording.Errorf(recording.CodeInvalidRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return recording.Errorf(recording.CodeInvalidRequest, "request body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return goKind
}
