package job

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// CountIndexes counts the distinct indexes in a Job status index list such
// as "1,3-5,7" (status.completedIndexes, status.failedIndexes). It parses
// like the Job controller's parseIndexesFromString (indexed_job_utils.go):
// malformed intervals are skipped, the list is cut at the first interval
// starting at or past completions (the controller writes sorted lists and
// stops there), an interval's end is clipped to completions−1, and only
// the first two '-'-separated parts of an interval are read.
//
// For the sorted, disjoint lists the controller writes, the result equals
// the controller's orderedIntervals.total. Lists it never writes are
// tolerated but counted as sets: overlaps and duplicates count once and a
// reversed interval ("3-1") counts nothing, so the result is always
// between 0 and the bound (the controller would count "1,1" as 2 and
// "3-1" as −1).
//
// completions ≤ 0 means "no upper bound known": indexes are then bounded
// by the API's int32 range. It never allocates per index, so a range like
// "0-4294967295" is cheap, and it only allocates (per interval) for an
// unsorted list.
func CountIndexes(list string, completions int32) int64 {
	bound := int64(math.MaxInt32)
	if completions > 0 {
		bound = int64(completions)
	}
	var total int64
	covered, prevFirst := int64(-1), int64(-1)
	for rest := list; len(rest) > 0; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		first, last, ok, stop := parseInterval(part, bound)
		if stop {
			break
		}
		if !ok {
			continue
		}
		if first < prevFirst {
			return countUnsorted(list, bound)
		}
		prevFirst = first
		if last <= covered {
			continue
		}
		if first <= covered {
			first = covered + 1
		}
		total += last - first + 1
		covered = last
	}
	return total
}

// countUnsorted counts the union of the intervals of a list that is not
// sorted by first index.
func countUnsorted(list string, bound int64) int64 {
	type interval struct{ first, last int64 }
	var ivs []interval
	for rest := list; len(rest) > 0; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		first, last, ok, stop := parseInterval(part, bound)
		if stop {
			break
		}
		if ok {
			ivs = append(ivs, interval{first, last})
		}
	}
	sort.Slice(ivs, func(a, b int) bool { return ivs[a].first < ivs[b].first })
	var total int64
	covered := int64(-1)
	for _, iv := range ivs {
		if iv.last <= covered {
			continue
		}
		if iv.first <= covered {
			iv.first = covered + 1
		}
		total += iv.last - iv.first + 1
		covered = iv.last
	}
	return total
}

// parseInterval parses one part of an index list as parseIndexesFromString
// does (strconv.Atoi on the parts around '-'). stop is true when the
// interval starts at or past bound: the controller stops reading there.
// ok is false for a part to skip: malformed, or reversed.
func parseInterval(part string, bound int64) (first, last int64, ok, stop bool) {
	a, rest, isRange := strings.Cut(part, "-")
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false, false
	}
	if first >= bound {
		return 0, 0, false, true
	}
	last = first
	if isRange {
		b, _, _ := strings.Cut(rest, "-")
		if last, err = strconv.ParseInt(b, 10, 64); err != nil {
			return 0, 0, false, false
		}
		if last >= bound {
			last = bound - 1
		}
	}
	if first < 0 || last < first {
		return 0, 0, false, false
	}
	return first, last, true, false
}
