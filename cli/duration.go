package cli

import "fmt"

// formatDuration shows a duration_ms as H:MM:SS (M:SS under an hour),
// rounded to the second. It works in integer seconds, never in
// time.Duration: a server's duration_ms can be anything up to the largest
// int64, and milliseconds turned into nanoseconds overflow past 106 days.
// An absurd value is shown as the number it is; a negative one as "?",
// a missing one as "-".
func formatDuration(ms *int64) string {
	switch {
	case ms == nil:
		return "-"
	case *ms < 0:
		return "?"
	}
	s := *ms / 1000
	if *ms%1000 >= 500 {
		s++
	}
	h, m, sec := s/3600, s/60%60, s%60
	if h == 0 {
		return fmt.Sprintf("%d:%02d", m, sec)
	}
	return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
}
