package job

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Expected values follow parseIndexesFromString (indexed_job_utils.go)
// and orderedIntervals.total, worked by hand.
func TestCountIndexes(t *testing.T) {
	tests := []struct {
		name        string
		list        string
		completions int32
		want        int64
	}{
		{"empty", "", 10, 0},
		{"single zero", "0", 1, 1},
		{"mixed", "1,3-5,7", 10, 5},
		{"mixed unbounded", "1,3-5,7", 0, 5},
		{"completions cuts an interval and stops the list", "1,3-5,7", 5, 3},
		{"interval clipped to completions-1", "0-9", 4, 4},
		{"first index at completions stops", "4", 4, 0},
		{"overlapping intervals counted once", "1-3,2-4", 10, 4},
		{"contained interval", "0-9,2-3,5", 10, 10},
		{"duplicates counted once", "1,1,1", 10, 1},
		{"adjacent intervals", "0-1,2-3", 10, 4},
		{"unsorted within bound", "5,1", 10, 2},
		{"unsorted overlapping", "3-5,1-4,9,0", 10, 7},
		{"unsorted with duplicates and junk", "7,x,2-3,7,3-1,2", 10, 3},
		// The controller breaks at the first interval starting past
		// completions, so a later smaller index is not read.
		{"unsorted past bound stops", "5,1", 3, 0},
		{"stop after a counted part", "0,5,1", 3, 1},
		// The controller would add 1−3+1 = −1; we count nothing.
		{"reversed interval", "3-1", 10, 0},
		{"reversed interval among good ones", "0,3-1,5", 10, 2},
		{"letters", "a", 10, 0},
		{"letters skipped, rest counted", "a,2", 10, 1},
		{"leading minus is an empty first bound", "-1", 10, 0},
		{"leading minus skipped, rest counted", "-1,2", 10, 1},
		{"range end past int32 clipped to completions", "0-4294967295", 10, 10},
		{"range end past int32 unbounded", "0-4294967295", 0, math.MaxInt32},
		{"range end overflowing int64 skipped", "0-99999999999999999999,3", 10, 1},
		{"first overflowing int64 skipped", "99999999999999999999,3", 10, 1},
		{"first past int32 stops unbounded", "4294967296,1", 0, 0},
		{"largest index unbounded", "2147483646", 0, 1},
		{"index MaxInt32 is out of range", "2147483647", 0, 0},
		{"leading space", " 1", 10, 0},
		{"trailing space", "1 ", 10, 0},
		{"space in range", "1- 3", 10, 0},
		{"plus sign accepted as Atoi does", "+1", 10, 1},
		{"extra range part ignored", "1-3-9", 10, 3},
		{"empty parts", ",,1,,", 10, 1},
		{"empty range end", "1-", 10, 0},
		{"completions 0 means unbounded", "0-9", 0, 10},
		{"negative completions means unbounded", "0-9", -5, 10},
		{"completions MaxInt32", "0-2147483646", math.MaxInt32, math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountIndexes(tt.list, tt.completions); got != tt.want {
				t.Errorf("CountIndexes(%q, %d) = %d, want %d", tt.list, tt.completions, got, tt.want)
			}
		})
	}
}

func TestCountIndexesLargeList(t *testing.T) {
	list := strings.Repeat("1,", 1<<19) // 1 MiB
	if got, want := CountIndexes(list, 10), int64(1); got != want {
		t.Errorf("CountIndexes(1 MiB of \"1,\") = %d, want %d", got, want)
	}
}

// refCountIndexes is parseIndexesFromString (indexed_job_utils.go) ported
// line by line (strings.Split, strconv.Atoi, break at completions), then
// the union of the intervals it keeps; reversed intervals are dropped.
func refCountIndexes(list string, completions int) int64 {
	if list == "" {
		return 0
	}
	type iv struct{ first, last int }
	var ivs []iv
	for _, s := range strings.Split(list, ",") {
		limits := strings.Split(s, "-")
		first, err := strconv.Atoi(limits[0])
		if err != nil {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if len(limits) > 1 {
			if last, err = strconv.Atoi(limits[1]); err != nil {
				continue
			}
			if last >= completions {
				last = completions - 1
			}
		}
		if last >= first {
			ivs = append(ivs, iv{first, last})
		}
	}
	sort.Slice(ivs, func(a, b int) bool { return ivs[a].first < ivs[b].first })
	var total int64
	covered := -1
	for _, v := range ivs {
		if v.last <= covered {
			continue
		}
		total += int64(v.last - max(v.first, covered+1) + 1)
		covered = v.last
	}
	return total
}

func FuzzCountIndexes(f *testing.F) {
	for _, s := range []string{"", "0", "1,3-5,7", "1-3,2-4", "5,1", "3-1", "a", "-1", "0-4294967295", " 1", "+1", "1-3-9", ",,", "1,1,1", "2147483646", "99999999999999999999", "0-\xff"} {
		for _, c := range []int32{0, 1, 5, 10, math.MaxInt32, -1} {
			f.Add(s, c)
		}
	}
	f.Fuzz(func(t *testing.T, list string, completions int32) {
		got := CountIndexes(list, completions)
		if got < 0 {
			t.Fatalf("CountIndexes(%q, %d) = %d < 0", list, completions, got)
		}
		bound := int64(math.MaxInt32)
		if completions > 0 {
			bound = int64(completions)
		}
		if got > bound {
			t.Fatalf("CountIndexes(%q, %d) = %d > %d", list, completions, got, bound)
		}
		if want := refCountIndexes(list, int(bound)); got != want {
			t.Fatalf("CountIndexes(%q, %d) = %d, controller port gives %d", list, completions, got, want)
		}
	})
}
