package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv/contract"
	"github.com/voicerec/backend/server/api"
)

// moduleRoot is where go.mod is, seen from this package's directory.
const moduleRoot = "../.."

// raisedCodes finds every problem code the backend's code can answer with:
// a recording.Code passed to recording.Errorf or set as the Code of a
// composite literal (recording.Error, Problem), or a string literal set as
// the Code of a Problem. It returns each code with the status written next to
// it when the literal names one (a Problem built by hand), else 0.
func raisedCodes(t *testing.T) map[string]int {
	t.Helper()
	consts := domainCodes(t)
	raised := map[string]int{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".local", "node_modules", "testdata", "cli", "web", "infra", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		// codeName is the constant an expression names: recording.CodeX
		// outside the package, CodeX inside it.
		codeName := func(e ast.Expr) (string, bool) {
			switch x := e.(type) {
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == "recording" {
					v, ok := consts[x.Sel.Name]
					return v, ok
				}
			case *ast.Ident:
				if f.Name.Name == "recording" {
					v, ok := consts[x.Name]
					return v, ok
				}
			}
			return "", false
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				fn := ""
				switch f := x.Fun.(type) {
				case *ast.SelectorExpr:
					fn = f.Sel.Name
				case *ast.Ident:
					fn = f.Name
				}
				if fn == "Errorf" && len(x.Args) > 0 {
					if v, ok := codeName(x.Args[0]); ok {
						if _, seen := raised[v]; !seen {
							raised[v] = 0
						}
					}
				}
			case *ast.CompositeLit:
				code, status := "", 0
				for _, el := range x.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, ok := kv.Key.(*ast.Ident)
					if !ok {
						continue
					}
					switch key.Name {
					case "Code":
						if v, ok := codeName(kv.Value); ok {
							code = v
						} else if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING && isProblem(x.Type) {
							code, _ = strconv.Unquote(lit.Value)
						}
					case "Status":
						if sel, ok := kv.Value.(*ast.SelectorExpr); ok {
							status = httpStatuses[sel.Sel.Name]
						}
					}
				}
				if code != "" {
					if _, seen := raised[code]; !seen || status != 0 {
						raised[code] = status
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return raised
}

// isProblem reports a composite literal of the API's Problem type; other
// types (a provider notice) have codes of their own.
func isProblem(typ ast.Expr) bool {
	switch x := typ.(type) {
	case *ast.Ident:
		return x.Name == "Problem"
	case *ast.SelectorExpr:
		return x.Sel.Name == "Problem"
	}
	return false
}

// httpStatuses resolves the net/http constants a hand-built Problem may use.
var httpStatuses = map[string]int{
	"StatusBadRequest": http.StatusBadRequest, "StatusUnauthorized": http.StatusUnauthorized,
	"StatusForbidden": http.StatusForbidden, "StatusNotFound": http.StatusNotFound,
	"StatusConflict": http.StatusConflict, "StatusInternalServerError": http.StatusInternalServerError,
	"StatusServiceUnavailable": http.StatusServiceUnavailable, "StatusGatewayTimeout": http.StatusGatewayTimeout,
}

// domainCodes reads the Code constants of internal/recording: name to value.
func domainCodes(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(moduleRoot, "internal/recording/error.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for i, name := range vs.Names {
				lit := vs.Values[i].(*ast.BasicLit)
				v, _ := strconv.Unquote(lit.Value)
				consts[name.Name] = v
			}
		}
	}
	if len(consts) < 10 {
		t.Fatalf("found only %d Code constants in internal/recording/error.go", len(consts))
	}
	return consts
}

// groupedCodes reads a list such as "`a`, `b` (400); `c` (404)" into code
// to status. Both the document's ProblemCode description and the Errors
// paragraph of docs/api.md are written so.
var groupRE = regexp.MustCompile("((?:`[a-z_]+`(?:,|\\s|and)*)+)\\((\\d{3})\\)")
var codeRE = regexp.MustCompile("`([a-z_]+)`")

func groupedCodes(text string) map[string]int {
	out := map[string]int{}
	for _, g := range groupRE.FindAllStringSubmatch(text, -1) {
		status, _ := strconv.Atoi(g[2])
		for _, c := range codeRE.FindAllStringSubmatch(g[1], -1) {
			out[c[1]] = status
		}
	}
	return out
}

func documentedErrors(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "**Errors**")
	if start < 0 {
		t.Fatal("docs/api.md has no **Errors** paragraph")
	}
	end := strings.Index(s[start:], "\n\n")
	if end < 0 {
		end = len(s) - start
	}
	return s[start : start+end]
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Every problem code the code can raise is documented, with one status, the
// same in the code (statusOf), the OpenAPI document (ProblemCode, its
// description and every response that names it) and docs/api.md; and every
// documented code is raised somewhere. `conflict` was once documented as
// never raised and `not_uploaded` as still to go; this keeps the lists from
// drifting again.
func TestProblemCodesAgreeEverywhere(t *testing.T) {
	t.Parallel()
	raised := raisedCodes(t)
	want := map[string]int{}
	for code, status := range raised {
		if status == 0 {
			var ok bool
			if status, ok = api.StatusOf[recording.Code(code)]; !ok {
				t.Errorf("%s is raised but has no status in statusOf", code)
				continue
			}
		}
		want[code] = status
	}
	for code := range api.StatusOf {
		if _, ok := raised[string(code)]; !ok {
			t.Errorf("%s has a status in statusOf but is raised nowhere", code)
		}
	}

	c := contract.Load(t)
	enum, desc := c.ProblemCodes()
	if got := slices.Sorted(slices.Values(enum)); !slices.Equal(got, keys(want)) {
		t.Errorf("ProblemCode enum %v, want the raised codes %v", got, keys(want))
	}
	for name, got := range map[string]map[string]int{
		"ProblemCode's description":      groupedCodes(desc),
		"docs/api.md's Errors paragraph": groupedCodes(documentedErrors(t)),
	} {
		if !slices.Equal(keys(got), keys(want)) {
			t.Errorf("%s lists %v, want %v", name, keys(got), keys(want))
		}
		for code, status := range got {
			if w, ok := want[code]; ok && w != status {
				t.Errorf("%s gives %s status %d, the code %d", name, code, status, w)
			}
		}
	}
	named := map[string]bool{}
	for _, rc := range c.ResponseCodes() {
		named[rc.Code] = true
		if w, ok := want[rc.Code]; !ok {
			t.Errorf("%s names %s, which nothing raises", rc.Where, rc.Code)
		} else if w != rc.Status {
			t.Errorf("%s answers %s with %d, the code with %d", rc.Where, rc.Code, rc.Status, w)
		}
	}
	for code := range want {
		if !named[code] {
			t.Errorf("no response of the document names %s", code)
		}
	}
}
