package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rivo/uniseg"
)

// Columns line up by display width: a Hangul syllable takes two cells.
func TestTableAlignsWideCharacters(t *testing.T) {
	var out bytes.Buffer
	e := &env{stdout: &out}
	if err := e.printTable([]string{"NAME", "ID", "STATUS"}, [][]string{
		{"회의 녹음 1.m4a", "01A", "available"},
		{"interview.wav", "01B", "available"},
	}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	col := func(line, field string) int { return uniseg.StringWidth(line[:strings.Index(line, field)]) }
	if a, b, c := col(lines[0], "ID"), col(lines[1], "01A"), col(lines[2], "01B"); a != b || b != c {
		t.Errorf("ID column at cells %d, %d, %d:\n%s", a, b, c, out.String())
	}
}
