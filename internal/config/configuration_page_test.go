package config_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// configurationPage is where every environment variable is documented.
const configurationPage = "../../docs/configuration.md"

// Every environment variable any program of the repository reads has a row on
// the configuration page. The names are found in the Go sources themselves,
// not in a list kept by hand: the in-flight upload cap once went missing from
// the table, and the OIDC_<NAME>_* family is read outside this package.
func TestConfigurationPageListsEveryVariable(t *testing.T) {
	documented := documentedVariables(t)
	read := readVariables(t, filepath.Join("..", ".."))
	if len(read) < 40 {
		t.Fatalf("found only %d variables read in the sources; the scan no longer recognises how they are read", len(read))
	}
	for _, v := range read {
		if !isDocumented(v.name, documented) {
			t.Errorf("%s reads %s, which has no row on docs/configuration.md", v.where, v.name)
		}
	}
	// The families must be found as families, or a provider's variables
	// could go undocumented unnoticed.
	for _, want := range []string{"OIDC_<NAME>_ISSUER", "OIDC_<NAME>_JWKS_URL", "OIDC_<NAME>_ALGS", "OIDC_<NAME>_TOKEN_URL"} {
		if !slices.ContainsFunc(read, func(v readVariable) bool { return v.name == want }) {
			t.Errorf("the scan did not find the family %s", want)
		}
	}
}

// documentedVariables is every backquoted name in the first column of the
// page's tables.
func documentedVariables(t *testing.T) []string {
	t.Helper()
	page, err := os.ReadFile(configurationPage)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_<>]*)`")
	var out []string
	for _, line := range strings.Split(string(page), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(strings.SplitN(line, "|", 3)[1], -1) {
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		t.Fatal("docs/configuration.md has no table of variables")
	}
	return out
}

// isDocumented matches a read name against the documented ones; a part of
// the name built at run time (<NAME>) stands for any name, so GOOGLE_CLIENT_IDS
// documents <NAME>_CLIENT_IDS and OIDC_<NAME>_ISSUER documents itself.
func isDocumented(read string, documented []string) bool {
	parts := strings.Split(read, dynamic)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re := regexp.MustCompile("^" + strings.Join(parts, "(?:<NAME>|[A-Z0-9_]+)") + "$")
	return slices.ContainsFunc(documented, re.MatchString)
}

type readVariable struct{ name, where string }

// dynamic marks the part of a variable's name computed at run time.
const dynamic = "<NAME>"

var envName = regexp.MustCompile(`^[A-Z0-9_]*(<NAME>[A-Z0-9_]*)*$`)

// readVariables parses every non-test Go file under root and returns the
// variables read through getenv, os.Getenv, os.LookupEnv, or a function that
// hands its own parameter to one of those (the configuration's reader
// methods, a local "get with default"). A name built by concatenation
// ("OIDC_" + upper(name) + "_" + "ISSUER") comes back with <NAME> for the
// computed part.
func readVariables(t *testing.T, root string) []readVariable {
	t.Helper()
	fset := token.NewFileSet()
	byPackage := map[string][]*ast.File{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			base := d.Name()
			if path != root && (strings.HasPrefix(base, ".") || base == "testdata" || base == "node_modules" || base == "cdk.out") {
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
		byPackage[filepath.Dir(path)] = append(byPackage[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []readVariable
	seen := map[string]bool{}
	for _, files := range byPackage {
		readers := envReaders(files)
		for _, f := range files {
			for _, fn := range functions(f) {
				ast.Inspect(fn.body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || len(call.Args) == 0 || !readers[calleeName(call)] {
						return true
					}
					for _, name := range namePatterns(call.Args[0], fn.body, 0) {
						if !strings.ContainsAny(strings.ReplaceAll(name, dynamic, ""), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || !envName.MatchString(name) {
							continue // wholly computed (a helper's parameter), or not a variable's name
						}
						where := fset.Position(call.Pos())
						if !seen[name] {
							seen[name] = true
							rel, _ := filepath.Rel(root, where.Filename)
							out = append(out, readVariable{name: name, where: rel + ":" + strconv.Itoa(where.Line)})
						}
					}
					return true
				})
			}
		}
	}
	return out
}

type function struct {
	name   string
	params []string
	body   *ast.BlockStmt
}

// functions lists a file's function bodies: declarations, and function
// literals bound to a name (get := func(k, def string) string {...}).
func functions(f *ast.File) []function {
	var out []function
	params := func(ft *ast.FuncType) []string {
		var ps []string
		for _, field := range ft.Params.List {
			for _, n := range field.Names {
				ps = append(ps, n.Name)
			}
		}
		return ps
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Body != nil {
				out = append(out, function{n.Name.Name, params(n.Type), n.Body})
			}
		case *ast.AssignStmt:
			for i, rhs := range n.Rhs {
				if lit, ok := rhs.(*ast.FuncLit); ok && i < len(n.Lhs) {
					if id, ok := n.Lhs[i].(*ast.Ident); ok {
						out = append(out, function{id.Name, params(lit.Type), lit.Body})
					}
				}
			}
		}
		return true
	})
	return out
}

// envReaders is the names that read a variable in one package: the standard
// ones, and every function that passes its first parameter to a reader.
func envReaders(files []*ast.File) map[string]bool {
	readers := map[string]bool{"getenv": true, "Getenv": true, "LookupEnv": true}
	var fns []function
	for _, f := range files {
		fns = append(fns, functions(f)...)
	}
	for changed := true; changed; {
		changed = false
		for _, fn := range fns {
			if readers[fn.name] || len(fn.params) == 0 {
				continue
			}
			ast.Inspect(fn.body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if ok && len(call.Args) > 0 && readers[calleeName(call)] {
					if id, ok := call.Args[0].(*ast.Ident); ok && id.Name == fn.params[0] {
						readers[fn.name], changed = true, true
					}
				}
				return true
			})
		}
	}
	return readers
}

func calleeName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// namePatterns evaluates the expression that names a variable: literals and
// their concatenations as written, a local variable through every value
// assigned to it in the function, anything else as <NAME>.
func namePatterns(e ast.Expr, body *ast.BlockStmt, depth int) []string {
	if depth > 8 {
		return []string{dynamic}
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			return []string{s}
		}
	case *ast.ParenExpr:
		return namePatterns(e.X, body, depth+1)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			var out []string
			for _, l := range namePatterns(e.X, body, depth+1) {
				for _, r := range namePatterns(e.Y, body, depth+1) {
					out = append(out, strings.ReplaceAll(l+r, dynamic+dynamic, dynamic))
				}
			}
			return out
		}
	case *ast.Ident:
		var out []string
		for _, v := range assignedValues(e.Name, body) {
			out = append(out, namePatterns(v, body, depth+1)...)
		}
		if len(out) > 0 {
			return out
		}
	}
	return []string{dynamic}
}

// assignedValues is every expression assigned to name in body.
func assignedValues(name string, body *ast.BlockStmt) []ast.Expr {
	var out []ast.Expr
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) == len(n.Rhs) {
				for i, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == name {
						out = append(out, n.Rhs[i])
					}
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if id.Name == name && i < len(n.Values) {
					out = append(out, n.Values[i])
				}
			}
		}
		return true
	})
	return out
}
