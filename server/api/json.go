package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"

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

// decode reads one JSON object into dst, strictly: the Content-Type must be
// application/json (charset utf-8 at most; anything else is a 415), and
// duplicate keys, keys that match a field only case-insensitively, unknown
// fields, trailing data and wrong types are a 400 with a message naming the
// problem; an oversized body is a 413. What the values mean is the
// service's to check (the request types validate themselves there).
func decode(c echo.Context, dst any) error {
	r := c.Request()
	if err := checkJSONContentType(r.Header.Get(echo.HeaderContentType)); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body) // bounded by limitBody
	if err != nil {
		return decodeError(err)
	}
	if err := checkKeys(body, jsonFieldNames(reflect.TypeOf(dst))); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
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
	return nil
}

// decodeOptional is decode for a request whose body may be left out: no
// body at all (with or without a Content-Type) leaves dst as it is.
// Anything sent is held to decode's rules.
func decodeOptional(c echo.Context, dst any) error {
	r := c.Request()
	body, err := io.ReadAll(r.Body) // bounded by limitBody
	if err != nil {
		return decodeError(err)
	}
	if len(body) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode(c, dst)
}

var errContentType = recording.Errorf(recording.CodeUnsupportedType,
	"Content-Type must be application/json (optionally with charset=utf-8)")

// checkJSONContentType accepts application/json, in any letter case, with
// no parameter but charset=utf-8. A missing Content-Type is refused too: a
// browser sends a cross-origin text/plain form without a preflight, and
// nothing but JSON is ever meant.
func checkJSONContentType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != echo.MIMEApplicationJSON {
		return errContentType
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return errContentType
		}
	}
	return nil
}

// checkKeys walks body's tokens and refuses an object with the same key
// twice (encoding/json keeps the last, so two readers of one body could
// disagree) and a key that matches one of fields only when case is ignored
// (encoding/json would take "FILE_NAME" for "file_name"). Syntax errors are
// left to the decoder, which names them.
func checkKeys(body []byte, fields []string) error {
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]bool
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, ok := tok.(string); ok && top != nil && top.object && top.expectKey {
			if top.keys[key] {
				return recording.Errorf(recording.CodeInvalidRequest, "duplicate field %q", key)
			}
			top.keys[key] = true
			top.expectKey = false
			for _, f := range fields {
				if key != f && strings.EqualFold(key, f) {
					return recording.Errorf(recording.CodeInvalidRequest, "unknown field %q (did you mean %q? names are case-sensitive)", key, f)
				}
			}
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, expectKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
		default: // a scalar value
			if top != nil && top.object {
				top.expectKey = true
			}
		}
	}
}

var fieldNamesCache sync.Map // reflect.Type -> []string

// jsonFieldNames lists the JSON names of t's fields, nested structs
// included, as encoding/json would match them.
func jsonFieldNames(t reflect.Type) []string {
	if v, ok := fieldNamesCache.Load(t); ok {
		return v.([]string)
	}
	seen := map[reflect.Type]bool{}
	var names []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				walk(f.Type)
				continue
			}
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
			walk(f.Type)
		}
	}
	walk(t)
	fieldNamesCache.Store(t, names)
	return names
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
