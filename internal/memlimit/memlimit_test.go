package memlimit

import (
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"testing/fstest"
)

// restore puts back the runtime's memory limit a test changed.
func restore(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
}

// unsetGOMEMLIMIT runs the test as if GOMEMLIMIT were not set.
func unsetGOMEMLIMIT(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "") // registers the restore
	os.Unsetenv("GOMEMLIMIT")
}

func TestApply(t *testing.T) {
	v2 := func(s string) fstest.MapFS { return fstest.MapFS{"memory.max": {Data: []byte(s)}} }
	v1 := func(s string) fstest.MapFS { return fstest.MapFS{"memory/memory.limit_in_bytes": {Data: []byte(s)}} }
	tests := []struct {
		name    string
		fs      fstest.MapFS
		ratio   float64
		want    int64 // 0: the runtime's limit is left as it was
		source  string
		wantErr string
	}{
		{name: "cgroup v2 limit", fs: v2("268435456\n"), ratio: 0.9, want: 241591910, source: "memory.max"},
		{name: "cgroup v2 unlimited", fs: v2("max\n"), ratio: 0.9},
		{name: "cgroup v1 limit", fs: v1("134217728\n"), ratio: 0.5, want: 67108864, source: "memory/memory.limit_in_bytes"},
		{name: "cgroup v1 unlimited", fs: v1("9223372036854771712\n"), ratio: 0.9},
		{name: "v2 wins over v1", fs: fstest.MapFS{"memory.max": {Data: []byte("1000")}, "memory/memory.limit_in_bytes": {Data: []byte("2000")}}, ratio: 1, want: 1000, source: "memory.max"},
		{name: "no cgroup", fs: fstest.MapFS{}, ratio: 0.9},
		{name: "ratio 0 turns it off", fs: v2("268435456"), ratio: 0},
		{name: "garbage", fs: v2("lots"), ratio: 0.9, wantErr: `"lots" is not a byte count`},
		{name: "negative", fs: v1("-1"), ratio: 0.9, wantErr: "not a byte count"},
		{name: "ratio above 1", fs: v2("1000"), ratio: 1.5, wantErr: "must be between 0 (off) and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restore(t)
			unsetGOMEMLIMIT(t)
			debug.SetMemoryLimit(math.MaxInt64)
			res, err := Apply(tt.ratio, tt.fs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == 0 {
				want = math.MaxInt64
			}
			if got := debug.SetMemoryLimit(-1); got != want || res.Limit != want {
				t.Errorf("runtime limit %d, Result.Limit %d, want %d", got, res.Limit, want)
			}
			if res.Source != tt.source {
				t.Errorf("Source %q, want %q", res.Source, tt.source)
			}
		})
	}
}

// TestGOMEMLIMITWins: an operator's GOMEMLIMIT is left alone.
func TestGOMEMLIMITWins(t *testing.T) {
	restore(t)
	t.Setenv("GOMEMLIMIT", "100MiB")
	debug.SetMemoryLimit(100 << 20) // what the runtime read at start
	res, err := Apply(0.9, fstest.MapFS{"memory.max": {Data: []byte("1000000")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 100<<20 || res.Source != "GOMEMLIMIT" || res.Limit != 100<<20 {
		t.Errorf("runtime limit %d, result %+v; want GOMEMLIMIT's 100 MiB kept", got, res)
	}
}
