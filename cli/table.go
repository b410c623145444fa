package cli

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
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

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

var byteCount = regexp.MustCompile(`\b(\d{4,}) bytes\b`)

// humanizeBytes rewrites "N bytes" in a server message into KiB, MiB...
func humanizeBytes(s string) string {
	return byteCount.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.ParseInt(strings.Fields(m)[0], 10, 64)
		if err != nil {
			return m
		}
		return humanBytes(n)
	})
}
