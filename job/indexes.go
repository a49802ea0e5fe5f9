package job

import (
	"strconv"
	"strings"
)

// CountIndexes counts the indexes in a Job status index list such as
// "1,3-5,7" (status.completedIndexes, status.failedIndexes). Like the Job
// controller's parseIndexesFromString (indexed_job_utils.go), it ignores
// malformed or out-of-range intervals instead of failing, and only counts
// indexes below completions; completions ≤ 0 means "no upper bound known".
// It never allocates per index, so a range like "0-4294967295" is cheap.
func CountIndexes(list string, completions int32) int64 {
	var total int64
	for len(list) > 0 {
		var part string
		part, list, _ = strings.Cut(list, ",")
		first, last, ok := parseInterval(part)
		if !ok {
			continue
		}
		if completions > 0 {
			if first >= int64(completions) {
				continue
			}
			if last >= int64(completions) {
				last = int64(completions) - 1
			}
		}
		total += last - first + 1
	}
	return total
}

// parseInterval parses "N" or "A-B" with 0 ≤ A ≤ B < 2^31 (index values are
// int32 in the API).
func parseInterval(s string) (first, last int64, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	first, err := strconv.ParseInt(a, 10, 32)
	if err != nil || first < 0 {
		return 0, 0, false
	}
	if !isRange {
		return first, first, true
	}
	last, err = strconv.ParseInt(b, 10, 32)
	if err != nil || last < first {
		return 0, 0, false
	}
	return first, last, true
}
