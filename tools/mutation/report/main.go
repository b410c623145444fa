// Command report turns gremlins' JSON results into the results page
// docs/mutation.md: a score per package and every surviving mutant with its
// source line and, when it was judged equivalent, the reason. It rewrites
// only the part of the page between the generated-section markers.
//
//	go run ./tools/mutation/report -dir .local/mutation -equivalent docs/mutation-equivalent.txt -o docs/mutation.md
//
// For each package P (internal/auth is internal_auth) the directory may hold
// P.json (a run), P.json.seconds (its wall time) and P.dry.json (a dry run,
// from which a run's duration is estimated). A package too slow to run
// whole may be run in parts, some of its files at a time (gremlins' -E), as
// P+NAME.json (with P+NAME.json.seconds): each source file's mutants are
// taken from the newest run that holds them, and the wall times add up.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

type result struct {
	Files []struct {
		FileName  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
	Elapsed float64 `json:"elapsed_time"`
}

type mutant struct {
	pkg, file, typ, status string
	line, col              int
}

func (m mutant) id() string {
	return fmt.Sprintf("%s/%s:%d:%d %s", m.pkg, m.file, m.line, m.col, m.typ)
}

const (
	beginMark = "<!-- mutationreport: begin generated section -->"
	endMark   = "<!-- mutationreport: end generated section -->"
)

func main() {
	dir := flag.String("dir", ".local/mutation", "directory of gremlins JSON results")
	equivFile := flag.String("equivalent", "docs/mutation-equivalent.txt",
		"survivors explained: `pkg/file.go:line:col TYPE reason` per line; a reason starting BUG: marks a bug in the code (still counted as lived), UNREACHABLE: a path tests cannot reach, KILLED: (killed since the run) a test written after it that fails with the mutant planted by hand")
	out := flag.String("o", "docs/mutation.md", "page to update")
	pkgs := flag.String("packages", "internal/recording internal/auth internal/s3 internal/dynamo internal/s3event server/api", "packages, in page order")
	flag.Parse()
	if err := run(*dir, *equivFile, *out, strings.Fields(*pkgs), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mutationreport:", err)
		os.Exit(1)
	}
}

// run writes the page; warn hears of explanations a run has made stale.
func run(dir, equivFile, out string, pkgs []string, warn io.Writer) error {
	equiv, err := readEquivalent(equivFile)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintln(&b, beginMark)
	fmt.Fprintln(&b, "\n| Package | Mutants run | Killed | Timed out | Lived | Equivalent | Score | Not viable | Not covered (in a `case`) | Wall time | Run |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	var survivors []string
	var estimates []string
	for _, p := range pkgs {
		base := filepath.Join(dir, strings.ReplaceAll(p, "/", "_"))
		res, mtime, wall, err := loadRuns(base)
		if err != nil {
			return err
		}
		if res == nil {
			if dry, _, err := load(base + ".dry.json"); err != nil {
				return err
			} else if dry != nil {
				estimates = append(estimates, estimate(p, dry, seconds(base+".dry.json.seconds")))
			}
			fmt.Fprintf(&b, "| `%s` | – | – | – | – | – | – | – | – | – | not run |\n", p)
			continue
		}
		counts := map[string]int{}
		notCoveredCase := 0
		nEquiv, nLater := 0, 0
		for _, m := range mutants(p, res) {
			counts[m.status]++
			switch m.status {
			case "KILLED", "TIMED OUT":
				// An explanation of a mutant the run killed is out of
				// date: a test written since kills it (KILLED:, now
				// confirmed) or the code changed under it.
				if _, ok := equiv[m.id()]; ok {
					fmt.Fprintf(warn, "mutationreport: %s explains %s, which the last run killed: remove the line\n", equivFile, m.id())
				}
			case "NOT COVERED":
				if strings.HasPrefix(strings.TrimSpace(sourceLine(m)), "case ") {
					notCoveredCase++
				}
			case "LIVED":
				line := fmt.Sprintf("- `%s:%d:%d` %s: %s", m.file, m.line, m.col, m.typ, code(strings.TrimSpace(sourceLine(m))))
				if why, ok := equiv[m.id()]; ok {
					switch {
					case strings.HasPrefix(why, "BUG:"):
						// Counted as lived: the code is wrong, not the tests.
						line += " — **a bug in the code**:" + strings.TrimPrefix(why, "BUG:")
					case strings.HasPrefix(why, "KILLED:"):
						// Killed since the run, checked by planting it by
						// hand; the next run of the file confirms it.
						nLater++
						line += " — killed since the run:" + strings.TrimPrefix(why, "KILLED:")
					case strings.HasPrefix(why, "UNREACHABLE:"):
						nEquiv++
						line += " — unreachable in tests:" + strings.TrimPrefix(why, "UNREACHABLE:")
					default:
						nEquiv++
						line += " — equivalent: " + why
					}
				} else {
					line += " — **not yet killed or explained**"
				}
				survivors = append(survivors, "`"+p+"` "+line[2:])
			}
		}
		killed := counts["KILLED"] + counts["TIMED OUT"] + nLater
		run := counts["KILLED"] + counts["TIMED OUT"] + counts["LIVED"]
		score := "–"
		if run-nEquiv > 0 {
			score = fmt.Sprintf("%.1f%%", 100*float64(killed)/float64(run-nEquiv))
		}
		lived := fmt.Sprint(counts["LIVED"])
		if nLater > 0 {
			lived += fmt.Sprintf(" (%d killed since)", nLater)
		}
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %s | %d | %s | %d | %d (%d) | %s | %s |\n", p, run, counts["KILLED"], counts["TIMED OUT"],
			lived, nEquiv, score, counts["NOT VIABLE"], counts["NOT COVERED"], notCoveredCase, wall.Round(time.Second), mtime.UTC().Format("2006-01-02"))
	}
	fmt.Fprintln(&b, "\nScore: killed and timed-out mutants over those run, equivalent and unreachable ones left out, as are those that do not compile (not viable); a survivor killed since the run by a new test (seen failing with the mutant planted by hand) counts as killed.")
	fmt.Fprintln(&b, "\n### Surviving mutants")
	fmt.Fprintln(&b)
	if len(survivors) == 0 {
		fmt.Fprintln(&b, "None.")
	}
	for _, s := range survivors {
		fmt.Fprintln(&b, "- "+s)
	}
	if len(estimates) > 0 {
		fmt.Fprintln(&b, "\n### Estimates for packages not run (from a dry run)")
		fmt.Fprintln(&b)
		for _, e := range estimates {
			fmt.Fprintln(&b, "- "+e)
		}
	}
	fmt.Fprintln(&b)
	fmt.Fprint(&b, endMark)
	return splice(out, b.String())
}

func load(path string) (*result, time.Time, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	var r result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &r, fi.ModTime(), nil
}

// loadRuns reads a package's run, P.json, and its partial runs, P+NAME.json,
// into one result: for each source file, the newest run that mutated it
// wins. It returns the newest run's time and the runs' wall times summed.
func loadRuns(base string) (*result, time.Time, time.Duration, error) {
	parts, err := filepath.Glob(base + "+*.json")
	if err != nil {
		return nil, time.Time{}, 0, err
	}
	type run struct {
		res   *result
		mtime time.Time
		wall  time.Duration
	}
	var runs []run
	for _, path := range append([]string{base + ".json"}, parts...) {
		if strings.HasSuffix(path, ".dry.json") {
			continue
		}
		res, mtime, err := load(path)
		if err != nil {
			return nil, time.Time{}, 0, err
		}
		if res == nil {
			continue
		}
		wall := seconds(path + ".seconds")
		if wall == 0 {
			wall = time.Duration(res.Elapsed * float64(time.Second))
		}
		runs = append(runs, run{res, mtime, wall})
	}
	if len(runs) == 0 {
		return nil, time.Time{}, 0, nil
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].mtime.Before(runs[j].mtime) })
	merged := &result{}
	at := map[string]int{} // file name -> index in merged.Files
	var total time.Duration
	for _, r := range runs {
		total += r.wall
		for _, f := range r.res.Files {
			if i, ok := at[f.FileName]; ok {
				merged.Files[i] = f
				continue
			}
			at[f.FileName] = len(merged.Files)
			merged.Files = append(merged.Files, f)
		}
	}
	return merged, runs[len(runs)-1].mtime, total, nil
}

func mutants(pkg string, r *result) []mutant {
	var ms []mutant
	for _, f := range r.Files {
		for _, m := range f.Mutations {
			ms = append(ms, mutant{pkg: pkg, file: f.FileName, typ: m.Type, status: m.Status, line: m.Line, col: m.Column})
		}
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].file != ms[j].file {
			return ms[i].file < ms[j].file
		}
		if ms[i].line != ms[j].line {
			return ms[i].line < ms[j].line
		}
		return ms[i].col < ms[j].col
	})
	return ms
}

// seconds reads a wall time written by tools/mutation/mutation.mk; 0 when there is none.
func seconds(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return time.Duration(n) * time.Second
}

// estimate is a run's duration from a dry run: every runnable mutant runs
// the package's tests once. The dry run's coverage run (per) reuses cached
// builds; a mutant also recompiles the package and everything that imports
// it, and on the 2-core machine where make mutate was measured that cost 1
// to 4 times the coverage run per mutant, hence a range.
func estimate(pkg string, dry *result, per time.Duration) string {
	runnable, notCovered := 0, 0
	for _, m := range mutants(pkg, dry) {
		switch m.status {
		case "RUNNABLE":
			runnable++
		case "NOT COVERED":
			notCovered++
		}
	}
	low := time.Duration(runnable) * per
	high := 4 * low
	return fmt.Sprintf("`%s`: %d runnable mutants (and %d not covered), coverage run %s: %s to %s with one worker (%.1f to %.1f h)",
		pkg, runnable, notCovered, per.Round(time.Second), low.Round(time.Minute), high.Round(time.Minute),
		math.Round(low.Hours()*10)/10, math.Round(high.Hours()*10)/10)
}

// code is s as a Markdown code span, whatever backticks it holds.
func code(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func sourceLine(m mutant) string {
	f, err := os.Open(filepath.Join(m.pkg, m.file))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if n == m.line {
			return sc.Text()
		}
	}
	return ""
}

func readEquivalent(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want `pkg/file.go:line:col TYPE reason`", path, i+1)
		}
		out[f[0]+" "+f[1]] = f[2]
	}
	return out, nil
}

// splice replaces the generated section of the page, or appends one.
func splice(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	page := string(old)
	i, j := strings.Index(page, beginMark), strings.Index(page, endMark)
	if i >= 0 && j > i {
		page = page[:i] + section + page[j+len(endMark):]
	} else {
		page = strings.TrimRight(page, "\n") + "\n\n" + section + "\n"
	}
	return os.WriteFile(path, []byte(page), 0o644)
}
