package cli

import (
	"math"
	"strings"
	"testing"
)

func TestFormatDuration(t *testing.T) {
	ms := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		in   *int64
		want string
	}{
		{nil, "-"},
		{ms(0), "0:00"},
		{ms(499), "0:00"},
		{ms(500), "0:01"},
		{ms(59_499), "0:59"},
		{ms(59_500), "1:00"},
		{ms(3_723_000), "1:02:03"},
		{ms(3_599_999), "1:00:00"},
		{ms(31 * 24 * 3600 * 1000), "744:00:00"},
		{ms(68_719_476_735_000), "19088743:32:15"},
		{ms(math.MaxInt64), "2562047788015:12:56"},
		{ms(-1), "?"},
		{ms(math.MinInt64), "?"},
	} {
		if got := formatDuration(tc.in); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", deref(tc.in), got, tc.want)
		}
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// ls prints a duration the server got wrong as a number, not as an
// overflowed negative one.
func TestListShowsAbsurdDurations(t *testing.T) {
	f := newFakeAPI(t)
	for _, d := range []int64{68_719_476_735_000, math.MaxInt64, -5} {
		f.add("01ARZ3NDEKTSV4RRFFQ69G5FAV", "a.wav", []byte("x"))
		f.items[len(f.items)-1].DurationMS = &d
	}
	out, errs, code := invocation(t, f.srv.URL, "ls")
	for _, want := range []string{"19088743:32:15", "2562047788015:12:56", " ? "} {
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("ls: exit %d, want %q in\n%s%s", code, want, out, errs)
		}
	}
}
