package reliability

import "testing"

// Forced re-list with kube-apiserver's default watch cache (see Relist):
// equality with a fresh exporter is required; the "expired" counter is
// only reported, since the watch cache resumes watches from its own
// history whatever etcd compacted (relist/ runs without watch cache).
func TestRelistAfterCompaction(t *testing.T) {
	r := Relist(t, &suite, "relist")
	if r.ExpiredDelta == 0 {
		t.Logf("no expired watch with the watch cache on: kube-apiserver resumed the watches from its watch cache, whose history etcd compaction does not shorten")
	}
}
