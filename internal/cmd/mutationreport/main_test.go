package main

import (
	"os"
	"path/filepath"
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
