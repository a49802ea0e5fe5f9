package harness

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// LiveHeap is the exporter's live heap in bytes: HeapAlloc right after a
// forced garbage collection, read from its /debug/pprof/heap?gc=1&debug=1
// (the exporter must run with --web.enable-pprof). It forces two: the
// second frees what the first left in sync.Pool victim caches (pooled
// gzip writers), so nothing allocated since and nothing pooled counts.
// go_memstats_heap_inuse_bytes on /metrics would count garbage not yet
// collected.
func (e *Exporter) LiveHeap(ctx context.Context) (float64, error) {
	var alloc float64
	for range 2 {
		code, body, err := e.Get(ctx, "/debug/pprof/heap?gc=1&debug=1")
		if err != nil {
			return 0, err
		}
		if code != 200 {
			return 0, fmt.Errorf("GET /debug/pprof/heap: %d: %.200s", code, body)
		}
		found := false
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
				if alloc, err = strconv.ParseFloat(v, 64); err != nil {
					return 0, err
				}
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("no HeapAlloc in the heap profile's text form")
		}
	}
	return alloc, nil
}
