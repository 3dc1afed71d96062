// Package textutil holds small text helpers shared by the commands' error
// messages.
package textutil

// EditDistance returns the Levenshtein distance between a and b, counted in
// bytes.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns the candidate nearest to s by edit distance when that
// distance is below limit, else "". Ties go to the earlier candidate.
func Closest(s string, candidates []string, limit int) string {
	best, bestD := "", limit
	for _, k := range candidates {
		if d := EditDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}
