package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A package run in parts reads as one run: each file from the newest run
// that mutated it, the wall times summed.
func TestLoadRunsMergesPartsByFile(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "server_api")
	write := func(name, body, secs string, age time.Duration) {
		t.Helper()
		path := base + name
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if secs != "" {
			if err := os.WriteFile(path+".seconds", []byte(secs), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	mut := func(status string) string {
		return `{"type":"CONDITIONALS_NEGATION","status":"` + status + `","line":1,"column":2}`
	}
	// The old part: a.go lived, b.go killed. The newer one ran a.go again.
	write("+old.json", `{"files":[{"file_name":"a.go","mutations":[`+mut("LIVED")+`]},{"file_name":"b.go","mutations":[`+mut("KILLED")+`]}]}`, "60", 2*time.Hour)
	write("+new.json", `{"files":[{"file_name":"a.go","mutations":[`+mut("KILLED")+`]}],"elapsed_time":30}`, "", time.Hour)
	write(".dry.json", `{"files":[{"file_name":"c.go","mutations":[`+mut("RUNNABLE")+`]}]}`, "", 0)

	res, _, wall, err := loadRuns(base)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range mutants("server/api", res) {
		got[m.file] = m.status
	}
	want := map[string]string{"a.go": "KILLED", "b.go": "KILLED"}
	if len(got) != len(want) || got["a.go"] != want["a.go"] || got["b.go"] != want["b.go"] {
		t.Errorf("merged statuses %v, want %v", got, want)
	}
	if wall != 90*time.Second {
		t.Errorf("wall time %s, want 1m30s (60 s written, 30 s from elapsed_time)", wall)
	}

	if res, _, _, err := loadRuns(filepath.Join(dir, "none")); err != nil || res != nil {
		t.Errorf("no runs: %v, %v; want nil, nil", res, err)
	}
}

// A survivor explained as KILLED: (a test written since, seen failing with
// the mutant planted by hand) counts as killed; an equivalent one is left
// out of the score; one not explained counts against it; one that does not
// compile is not viable, outside the score. An explanation of a mutant the
// run killed is stale, and said so.
func TestScoreCountsSurvivorsKilledSince(t *testing.T) {
	dir := t.TempDir()
	mut := func(status string, line int) string {
		return `{"type":"CONDITIONALS_NEGATION","status":"` + status + `","line":` + strconv.Itoa(line) + `,"column":2}`
	}
	results := `{"files":[{"file_name":"a.go","mutations":[` + mut("KILLED", 1) + `,` + mut("LIVED", 2) + `,` + mut("LIVED", 3) + `,` + mut("LIVED", 4) + `,` + mut("NOT VIABLE", 5) + `]}]}`
	if err := os.WriteFile(filepath.Join(dir, "server_api.json"), []byte(results), 0o644); err != nil {
		t.Fatal(err)
	}
	equiv := filepath.Join(dir, "equivalent.txt")
	if err := os.WriteFile(equiv, []byte("server/api/a.go:1:2 CONDITIONALS_NEGATION the same either way, once.\nserver/api/a.go:2:2 CONDITIONALS_NEGATION KILLED: by TestA.\nserver/api/a.go:3:2 CONDITIONALS_NEGATION the same either way.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "page.md")
	var warn strings.Builder
	if err := run(dir, equiv, page, []string{"server/api"}, &warn); err != nil {
		t.Fatal(err)
	}
	if want := "explains server/api/a.go:1:2 CONDITIONALS_NEGATION, which the last run killed"; !strings.Contains(warn.String(), want) || strings.Count(warn.String(), "\n") != 1 {
		t.Errorf("warnings %q, want one saying %q", warn.String(), want)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| `server/api` | 4 | 1 | 0 | 3 (1 killed since) | 1 | 66.7% | 1 | 0 (0) |",
		"`a.go:2:2` CONDITIONALS_NEGATION: `` — killed since the run: by TestA.",
		"`a.go:4:2` CONDITIONALS_NEGATION: `` — **not yet killed or explained**",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("page lacks %q:\n%s", want, b)
		}
	}
}
