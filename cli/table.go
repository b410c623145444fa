package cli

import (
	"bufio"
	"fmt"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"

	"github.com/voicerec/backend/client"
)

// printTable writes rows in columns two spaces apart, padded by display
// width: a Hangul or CJK character takes two terminal cells, which
// text/tabwriter counts as one. The last column is not padded.
func (e *env) printTable(header []string, rows [][]string) error {
	all := rows
	if header != nil {
		all = append([][]string{header}, rows...)
	}
	// Cells hold names from the server: an escape sequence in one must not
	// reach the terminal.
	for _, r := range all {
		for i, c := range r {
			r[i] = strings.Map(func(r rune) rune {
				if unicode.IsControl(r) || bidiControl(r) {
					return '?'
				}
				return r
			}, c)
		}
	}
	var widths []int
	for _, r := range all {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], uniseg.StringWidth(c))
		}
	}
	w := bufio.NewWriter(e.stdout)
	for _, r := range all {
		for i, c := range r {
			if i == len(r)-1 {
				fmt.Fprintln(w, c)
				break
			}
			fmt.Fprint(w, c, strings.Repeat(" ", widths[i]-uniseg.StringWidth(c)+2))
		}
	}
	return w.Flush()
}

// humanBytes writes a byte count in B, KiB, MiB...; the client writes
// the server's messages with the same units.
var humanBytes = client.HumanBytes
