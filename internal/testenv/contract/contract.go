// Package contract checks HTTP exchanges against the API's OpenAPI document
// (server/api/openapi.yaml). Tests send every API call through Client, so
// the server and the document cannot drift apart without a test failing.
//
// It is built on github.com/pb33f/libopenapi-validator rather than
// kin-openapi. Both read OpenAPI 3.1 now, but the pb33f validator was made
// for 3.1: every schema goes through one JSON Schema 2020-12 engine (const,
// if/then/else, type arrays), the document itself is checked against the
// 3.1 meta-schema, formats such as date-time and uri are asserted on
// request, and its strict mode reports response fields and headers the
// document does not mention, without the document having to promise apps
// that no field will ever be added. kin-openapi (v0.153) still falls back
// to its 3.0 validator for some schemas (internal $refs and no 2020-12
// keyword), does not assert uri, and has nothing like strict mode.
package contract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	yaml "github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	valerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/router"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/voicerec/backend/server/api"
)

// Contract is a parsed document ready to judge exchanges. It is safe for
// concurrent use.
type Contract struct {
	model   *v3.Document
	version float32
	full    validator.Validator
	router  router.Router
	schemas schema_validation.SchemaValidator
}

var (
	loadOnce sync.Once
	loaded   *Contract
	loadErr  error
)

// Load returns the contract of api.OpenAPIDocument, parsed once per test
// binary: building the validator compiles every schema, which is too slow to
// repeat in each test.
func Load(t testing.TB) *Contract {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = parse(api.OpenAPIDocument()) })
	if loadErr != nil {
		t.Fatalf("OpenAPI document: %v", loadErr)
	}
	return loaded
}

func parse(spec []byte) (*Contract, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, err
	}
	built, err := doc.BuildV3Model()
	if err != nil {
		return nil, err
	}
	model := &built.Model
	opts := []config.Option{config.WithFormatAssertions(), config.WithStrictMode()}
	v, errs := validator.NewValidator(doc, opts...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Contract{
		model:   model,
		version: 3.1,
		full:    v,
		router:  router.NewRouter(model, router.WithPathOnlyMatching()),
		schemas: schema_validation.NewSchemaValidator(config.WithFormatAssertions()),
	}, nil
}

// Operation is one method and path template of the document, with the path
// written as echo writes it (":id" rather than "{id}").
type Operation struct {
	Method, Path string
}

// Operations lists the document's operations, sorted.
func (c *Contract) Operations() []Operation {
	var ops []Operation
	c.eachOperation(func(method, path string, _ *v3.Operation) {
		ops = append(ops, Operation{Method: method, Path: echoPath(path)})
	})
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops
}

func (c *Contract) eachOperation(fn func(method, path string, op *v3.Operation)) {
	if c.model.Paths == nil {
		return
	}
	for path, item := range c.model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			fn(strings.ToUpper(method), path, op)
		}
	}
}

func echoPath(template string) string {
	parts := strings.Split(template, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			parts[i] = ":" + p[1:len(p)-1]
		}
	}
	return strings.Join(parts, "/")
}

// Lint checks the document itself: OpenAPI 3.1, valid against the 3.1
// meta-schema, and every media-type example valid against its own schema,
// since a wrong example misleads an app developer as much as a wrong schema.
func (c *Contract) Lint() error {
	var problems []string
	if !strings.HasPrefix(c.model.Version, "3.1.") {
		problems = append(problems, fmt.Sprintf("openapi version %q, want 3.1.x", c.model.Version))
	}
	if ok, errs := c.full.ValidateDocument(); !ok {
		problems = append(problems, describe(errs)...)
	}
	c.eachOperation(func(method, path string, op *v3.Operation) {
		where := method + " " + path
		if op.RequestBody != nil {
			problems = append(problems, c.lintExamples(where+" request", op.RequestBody.Content)...)
		}
		if op.Responses != nil {
			for code, resp := range op.Responses.Codes.FromOldest() {
				problems = append(problems, c.lintExamples(where+" "+code, resp.Content)...)
			}
		}
	})
	if c.model.Components != nil {
		for name, resp := range c.model.Components.Responses.FromOldest() {
			problems = append(problems, c.lintExamples("components/responses/"+name, resp.Content)...)
		}
	}
	for _, name := range genericResponses {
		r := component(c.model, name)
		if r == nil {
			problems = append(problems, "components/responses/"+name+" is missing")
		} else if _, ok := statusOf(r); !ok {
			problems = append(problems, "components/responses/"+name+" has no schema with a constant status")
		}
	}
	return joinProblems("the OpenAPI document is invalid", problems)
}

func (c *Contract) lintExamples(where string, content *orderedmap.Map[string, *v3.MediaType]) []string {
	var problems []string
	for mt, media := range content.FromOldest() {
		if media.Schema == nil {
			continue
		}
		examples := map[string]*yaml.Node{}
		if media.Example != nil {
			examples["example"] = media.Example
		}
		for name, ex := range media.Examples.FromOldest() {
			if ex != nil && ex.Value != nil {
				examples["example "+name] = ex.Value
			}
		}
		for label, node := range examples {
			var example any
			if err := node.Decode(&example); err != nil {
				problems = append(problems, fmt.Sprintf("%s %s %s: %v", where, mt, label, err))
				continue
			}
			if ok, errs := c.schemas.ValidateSchemaObjectWithVersion(media.Schema.Schema(), example, c.version); !ok {
				for _, p := range describe(errs) {
					problems = append(problems, fmt.Sprintf("%s %s %s: %s", where, mt, label, p))
				}
			}
		}
	}
	return problems
}

// ProblemCodes returns the document's ProblemCode enum and its description,
// which groups the codes by HTTP status.
func (c *Contract) ProblemCodes() (codes []string, description string) {
	if c.model.Components == nil {
		return nil, ""
	}
	proxy := c.model.Components.Schemas.GetOrZero("ProblemCode")
	if proxy == nil || proxy.Schema() == nil {
		return nil, ""
	}
	s := proxy.Schema()
	for _, n := range s.Enum {
		codes = append(codes, n.Value)
	}
	return codes, s.Description
}

// ResponseCode is a problem code that a response of the document names,
// with the status that response gives it.
type ResponseCode struct {
	Where  string
	Code   string
	Status int
}

// ResponseCodes lists, for every problem response of every operation and of
// components/responses, the codes its schema allows with its status.
func (c *Contract) ResponseCodes() []ResponseCode {
	var out []ResponseCode
	add := func(where string, r *v3.Response) {
		if r == nil {
			return
		}
		for _, media := range r.Content.FromOldest() {
			if media.Schema == nil {
				continue
			}
			s := media.Schema.Schema()
			status, ok := constStatus(s)
			if !ok {
				continue
			}
			for _, code := range constCodes(s) {
				out = append(out, ResponseCode{Where: where, Code: code, Status: status})
			}
		}
	}
	c.eachOperation(func(method, path string, op *v3.Operation) {
		if op.Responses == nil {
			return
		}
		for status, r := range op.Responses.Codes.FromOldest() {
			add(method+" "+path+" "+status, r)
		}
	})
	if c.model.Components != nil {
		for name, r := range c.model.Components.Responses.FromOldest() {
			add("components/responses/"+name, r)
		}
	}
	return out
}

// constCodes returns the values a schema's `code` property is held to
// (const or enum), looking into allOf as constStatus does.
func constCodes(s *base.Schema) []string {
	if s == nil {
		return nil
	}
	var codes []string
	if s.Properties != nil {
		if p := s.Properties.GetOrZero("code"); p != nil && p.Schema() != nil && !p.IsReference() {
			ps := p.Schema()
			if ps.Const != nil {
				codes = append(codes, ps.Const.Value)
			}
			for _, n := range ps.Enum {
				codes = append(codes, n.Value)
			}
		}
	}
	for _, sub := range s.AllOf {
		codes = append(codes, constCodes(sub.Schema())...)
	}
	return codes
}

// genericResponses are the components/responses that the document's
// conventions (info.description) apply beyond the operations that list them:
// a request matching no operation has no operation to list its answer, and
// the body limit guards every route.
var genericResponses = []string{"RouteNotFound", "MethodNotAllowed", "RequestTooLarge", "Unauthorized"}

// Check fails the test (without stopping it) when the exchange breaks the
// document. It is safe to call from any goroutine.
func (c *Contract) Check(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	if err := c.Validate(req, reqBody, resp, respBody); err != nil {
		t.Error(err)
	}
}

// Validate reports how an exchange breaks the document, or nil. The bodies
// are passed separately because the caller has usually consumed them; req's
// and resp's own Body fields are not read.
//
// The response is always checked: the operation must exist, document the
// status, and describe the content type, body (strictly: no undocumented
// fields) and headers. The request is checked only when the server
// accepted it (2xx): tests send invalid requests on purpose, and a 4xx
// answer to one is the behaviour under test, but a 2xx answer to a request
// the document forbids means the two disagree.
func (c *Contract) Validate(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	title := fmt.Sprintf("%s %s answered %d, which breaks the OpenAPI document", req.Method, req.URL.RequestURI(), resp.StatusCode)
	route, err := c.router.FindRoute(withRequestBody(req, reqBody))
	if err == nil && req.Method == http.MethodHead && route.PathItem.Head == nil {
		// The router lets HEAD borrow GET, as HTTP allows; the document
		// lists no HEAD operation, and the server serves none.
		err = router.ErrMethodNotAllowed
	}
	if err != nil {
		// Not an operation of the document: only the conventions' generic
		// answers are allowed.
		allowed := []string{"RouteNotFound", "MethodNotAllowed", "RequestTooLarge"}
		return joinProblems(title, c.checkGeneric(req, resp, respBody, allowed,
			fmt.Sprintf("no operation %s %s in the document", req.Method, req.URL.Path)))
	}
	if !documents(route.Operation, resp.StatusCode) && resp.StatusCode == http.StatusRequestEntityTooLarge {
		// The body limit applies to every route, documented once.
		return joinProblems(title, c.checkGeneric(req, resp, respBody, []string{"RequestTooLarge"}, ""))
	}

	var problems []string
	if _, errs := c.full.ValidateHttpResponse(withRequestBody(req, reqBody), withResponseBody(resp, respBody)); len(errs) > 0 {
		problems = append(problems, describe(errs)...)
	}
	if r := responseFor(route.Operation, resp.StatusCode); r != nil && orderedmap.Len(r.Content) == 0 && len(respBody) > 0 {
		problems = append(problems, fmt.Sprintf("the document gives %d no content, but the body has %d bytes", resp.StatusCode, len(respBody)))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		r := withRequestBody(req, reqBody)
		if len(reqBody) > 0 && r.Header.Get("Content-Type") == "" {
			// The conventions read a body without a Content-Type as JSON.
			r.Header.Set("Content-Type", "application/json")
		}
		_, errs := c.full.ValidateHttpRequest(r)
		// Unknown request headers are ignored, as HTTP wants, and so are
		// query parameters on operations that take none (the document's
		// conventions say so); accepting anything else undocumented is
		// drift.
		takesQuery := takesQuery(route.PathItem, route.Operation)
		errs = slices.DeleteFunc(errs, func(e *valerrors.ValidationError) bool {
			return e.ValidationType == valerrors.StrictValidationType &&
				(e.ValidationSubType == valerrors.StrictSubTypeHeader ||
					e.ValidationSubType == valerrors.StrictSubTypeQuery && !takesQuery)
		})
		for _, p := range describe(errs) {
			problems = append(problems, "the server accepted a request the document forbids: "+p)
		}
	}
	return joinProblems(title, problems)
}

func takesQuery(item *v3.PathItem, op *v3.Operation) bool {
	inQuery := func(p *v3.Parameter) bool { return p != nil && p.In == "query" }
	return slices.ContainsFunc(item.Parameters, inQuery) || op != nil && slices.ContainsFunc(op.Parameters, inQuery)
}

func documents(op *v3.Operation, status int) bool { return responseFor(op, status) != nil }

func responseFor(op *v3.Operation, status int) *v3.Response {
	if op == nil || op.Responses == nil || op.Responses.Codes == nil {
		return nil
	}
	return op.Responses.Codes.GetOrZero(strconv.Itoa(status))
}

func component(model *v3.Document, name string) *v3.Response {
	if model.Components == nil || model.Components.Responses == nil {
		return nil
	}
	return model.Components.Responses.GetOrZero(name)
}

// checkGeneric validates a response against whichever of the allowed
// components/responses stands for its status.
func (c *Contract) checkGeneric(req *http.Request, resp *http.Response, body []byte, allowed []string, why string) []string {
	for _, name := range allowed {
		r := component(c.model, name)
		if status, ok := statusOf(r); ok && status == resp.StatusCode {
			return c.checkResponse("components/responses/"+name, req, resp, body, r)
		}
	}
	if why == "" {
		why = "status not documented"
	}
	return []string{fmt.Sprintf("%s, and %d is none of the answers allowed there (%s)", why, resp.StatusCode, strings.Join(allowed, ", "))}
}

// statusOf reads the status a generic response stands for from its
// schema's `status: {const: N}`, so the document stays the one source.
func statusOf(r *v3.Response) (int, bool) {
	if r == nil {
		return 0, false
	}
	for _, media := range r.Content.FromOldest() {
		if media.Schema != nil {
			if n, ok := constStatus(media.Schema.Schema()); ok {
				return n, true
			}
		}
	}
	return 0, false
}

func constStatus(s *base.Schema) (int, bool) {
	if s == nil {
		return 0, false
	}
	if s.Properties != nil {
		if p := s.Properties.GetOrZero("status"); p != nil {
			if ps := p.Schema(); ps != nil && ps.Const != nil {
				var n int
				if err := ps.Const.Decode(&n); err == nil {
					return n, true
				}
			}
		}
	}
	for _, sub := range s.AllOf {
		if n, ok := constStatus(sub.Schema()); ok {
			return n, true
		}
	}
	return 0, false
}

// checkResponse does by hand what the validator does for operations:
// required headers, header schemas, content type and body schema.
func (c *Contract) checkResponse(where string, req *http.Request, resp *http.Response, body []byte, r *v3.Response) []string {
	var problems []string
	for name, h := range r.Headers.FromOldest() {
		values := resp.Header.Values(name)
		if len(values) == 0 {
			if h.Required {
				problems = append(problems, fmt.Sprintf("%s: required header %s is missing", where, name))
			}
			continue
		}
		if h.Schema != nil {
			schema := h.Schema.Schema()
			for _, v := range values {
				if ok, errs := c.schemas.ValidateSchemaObjectWithVersion(schema, headerValue(schema, v), c.version); !ok {
					for _, p := range describe(errs) {
						problems = append(problems, fmt.Sprintf("%s: header %s: %s", where, name, p))
					}
				}
			}
		}
	}
	if req.Method == http.MethodHead {
		return problems
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return append(problems, fmt.Sprintf("%s: content type %q: %v", where, ct, err))
	}
	var media *v3.MediaType
	if r.Content != nil {
		media = r.Content.GetOrZero(mt)
	}
	if media == nil {
		return append(problems, fmt.Sprintf("%s: content type %q is not documented", where, mt))
	}
	if media.Schema != nil {
		if ok, errs := c.schemas.ValidateSchemaBytesWithVersion(media.Schema.Schema(), body, c.version); !ok {
			for _, p := range describe(errs) {
				problems = append(problems, fmt.Sprintf("%s: %s", where, p))
			}
		}
	}
	return problems
}

// headerValue turns a header's text into the JSON value its schema
// expects, as the validator does for operations' headers.
func headerValue(schema *base.Schema, v string) any {
	if schema != nil && slices.Contains(schema.Type, "integer") {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

func withRequestBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return r
}

func withResponseBody(resp *http.Response, body []byte) *http.Response {
	r := *resp
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return &r
}

func describe(errs []*valerrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		msg := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			msg += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			where := f.FieldPath
			if where == "" {
				where = f.KeywordLocation
			}
			msg += fmt.Sprintf("\n      %s: %s", where, f.Reason)
		}
		out = append(out, msg)
	}
	return out
}

func joinProblems(title string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s:\n  - %s", title, strings.Join(problems, "\n  - "))
}
