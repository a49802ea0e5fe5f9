package job

import (
	"math"
	"strconv"
	"strings"
)

// CountIndexes counts the indexes in a Job status index list such as
// "1,3-5,7" (status.completedIndexes, status.failedIndexes). It follows the
// Job controller's parseIndexesFromString (indexed_job_utils.go) and
// orderedIntervals.total: malformed intervals are skipped, the list is cut
// at the first interval starting at or past completions (the controller
// writes sorted lists and stops there), an interval's end is clipped to
// completions−1, and only the first two '-'-separated parts of an interval
// are read. Overlaps and duplicates are counted as often as they appear,
// as the controller does. Unlike the controller, a reversed interval such
// as "3-1" counts 0, not −1, so the result is never negative.
// completions ≤ 0 means "no upper bound known": indexes are then bounded
// by the API's int32 range. It never allocates per index, so a range like
// "0-4294967295" is cheap.
func CountIndexes(list string, completions int32) int64 {
	bound := int64(math.MaxInt32)
	if completions > 0 {
		bound = int64(completions)
	}
	var total int64
	for len(list) > 0 {
		var part string
		part, list, _ = strings.Cut(list, ",")
		a, rest, isRange := strings.Cut(part, "-")
		first, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			continue
		}
		if first >= bound {
			break
		}
		last := first
		if isRange {
			b, _, _ := strings.Cut(rest, "-")
			if last, err = strconv.ParseInt(b, 10, 64); err != nil {
				continue
			}
			if last >= bound {
				last = bound - 1
			}
		}
		if first < 0 || last < first {
			continue
		}
		total += last - first + 1
	}
	return total
}
