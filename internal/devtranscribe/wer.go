package devtranscribe

import "strings"

// WordErrorRate is the word-level edit distance (substitutions, deletions,
// insertions) from hyp to ref, over ref's length. Case is ignored.
func WordErrorRate(ref, hyp string) float64 {
	r, h := strings.Fields(strings.ToLower(ref)), strings.Fields(strings.ToLower(hyp))
	if len(r) == 0 {
		if len(h) == 0 {
			return 0
		}
		return 1
	}
	prev := make([]int, len(h)+1)
	cur := make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(h)]) / float64(len(r))
}
