package scale

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kube-job-exporter/kube-job-exporter/e2e/harness"
)

// httpClient keeps connections alive and never decompresses: the gzip
// scrapes measure the compressed body.
var httpClient = &http.Client{
	Timeout:   2 * time.Minute,
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4},
}

// fetch GETs /metrics (gzip: with Accept-Encoding gzip) and returns the body
// as sent and how long the request took until the last byte was read.
func fetch(ctx context.Context, e *harness.Exporter, gzip bool) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL("/metrics"), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET /metrics: %s: %.200s", resp.Status, body)
	}
	if gzip && resp.Header.Get("Content-Encoding") != "gzip" {
		return nil, 0, fmt.Errorf("GET /metrics with Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	return body, d, nil
}

// value returns the value of the series line that starts with prefix
// (a metric name, or a name with its complete label set and "{...}").
func value(body []byte, prefix string) (float64, bool) {
	key := []byte("\n" + prefix + " ")
	i := bytes.Index(body, key)
	if i < 0 {
		if bytes.HasPrefix(body, key[1:]) {
			i = -1
		} else {
			return 0, false
		}
	}
	rest := body[i+len(key):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(rest)), 64)
	return f, err == nil
}

// seriesCount counts the sample lines of a text exposition: all of them, and
// those of the kubejob_ metrics about Jobs (not kubejob_exporter_, not
// kubejob_cronjob_: cronSeries counts those); families counts every
// metric's, the exporter's own ones as "(self) name".
// ownerSeries counts the outcome series per owner
// (harness.CountedPerOwner) of seriesCount's families: they outlive the
// Jobs they count.
func ownerSeries(families map[string]int) int {
	n := 0
	for name, c := range families {
		if harness.CountedPerOwner(name) {
			n += c
		}
	}
	return n
}

func seriesCount(body []byte) (all, jobs int, families map[string]int) {
	families = map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		all++
		if bytes.HasPrefix(line, []byte("kubejob_exporter_")) || !bytes.HasPrefix(line, []byte("kubejob_")) {
			name := line
			if k := bytes.IndexAny(line, "{ "); k >= 0 {
				name = line[:k]
			}
			families["(self) "+string(name)]++
		}
		if bytes.HasPrefix(line, []byte("kubejob_")) && !bytes.HasPrefix(line, []byte("kubejob_exporter_")) {
			if !bytes.HasPrefix(line, []byte(cronPrefix)) {
				jobs++
			}
			name := line
			if k := bytes.IndexAny(line, "{ "); k >= 0 {
				name = line[:k]
			}
			families[string(name)]++
		}
	}
	return all, jobs, families
}

// cronPrefix starts the metrics about CronJobs.
const cronPrefix = "kubejob_cronjob_"

// cronSeries is the number of series about CronJobs in families (of
// seriesCount).
func cronSeries(families map[string]int) int {
	n := 0
	for f, c := range families {
		if strings.HasPrefix(f, cronPrefix) {
			n += c
		}
	}
	return n
}

// count counts the lines starting with prefix.
func count(body []byte, prefix string) int {
	n := bytes.Count(body, []byte("\n"+prefix))
	if bytes.HasPrefix(body, []byte(prefix)) {
		n++
	}
	return n
}

// memSample is the exporter's own memory metrics from one scrape.
type memSample struct {
	HeapAlloc, HeapInuse, RSS float64
	GCs                       float64
	// RSSAnon and RSSFile split the RSS (/proc/PID/status): the
	// anonymous pages (heap, stacks, runtime) and the file-backed ones
	// (mostly the binary's own text and read-only data, clean page cache
	// the kernel can drop and re-read). Zero if /proc was not readable.
	RSSAnon, RSSFile float64
}

// readRSSParts fills RSSAnon and RSSFile from the exporter's
// /proc/PID/status.
func (m *memSample) readRSSParts(e *harness.Exporter) {
	if proc, ok := exporterProc(e); ok {
		m.RSSAnon, _ = procStatusBytes(proc, "RssAnon")
		m.RSSFile, _ = procStatusBytes(proc, "RssFile")
	}
}

func readMem(body []byte) (memSample, error) {
	var m memSample
	var ok [4]bool
	m.HeapAlloc, ok[0] = value(body, "go_memstats_heap_alloc_bytes")
	m.HeapInuse, ok[1] = value(body, "go_memstats_heap_inuse_bytes")
	m.RSS, ok[2] = value(body, "process_resident_memory_bytes")
	m.GCs, ok[3] = value(body, "go_gc_duration_seconds_count")
	for i, o := range ok {
		if !o {
			return m, fmt.Errorf("self-metric %d of (heap_alloc, heap_inuse, rss, gc count) missing from /metrics", i)
		}
	}
	return m, nil
}

// waitObjects polls until the exporter tracks jobs Jobs and pods Pods and
// renders kubejob_complete for jobs Jobs.
func waitObjects(ctx context.Context, e *harness.Exporter, jobs, pods int, timeout time.Duration) error {
	return harness.Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		body, _, err := fetch(ctx, e, false)
		if err != nil {
			return false, err.Error(), nil
		}
		j, _ := value(body, `kubejob_exporter_objects{resource="jobs"}`)
		p, _ := value(body, `kubejob_exporter_objects{resource="pods"}`)
		// Every Job of this test has failed pods: kubejob_pod_failures
		// shows that its pods, not only the Job, are reflected.
		c, f := count(body, "kubejob_complete{"), count(body, "kubejob_pod_failures{")
		return int(j) == jobs && int(p) == pods && c == jobs && f >= jobs,
			fmt.Sprintf("exporter tracks %v Jobs and %v pods, renders %d Jobs, %d with pod failures; want %d, %d, %d, %d", j, p, c, f, jobs, pods, jobs, jobs), nil
	})
}

// waitCronJobs polls until the exporter reports n CronJobs, each with its
// kubejob_cronjob_active_runs series, and, with objects (--watch.cronjobs,
// the default), every CronJob's kubejob_cronjob_info series: each one's
// object is known, not only its runs. (/readyz does not wait for the
// CronJob watch.)
func waitCronJobs(ctx context.Context, e *harness.Exporter, n int, objects bool, timeout time.Duration) error {
	return harness.Eventually(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		body, _, err := fetch(ctx, e, false)
		if err != nil {
			return false, err.Error(), nil
		}
		c, _ := value(body, `kubejob_exporter_objects{resource="cronjobs"}`)
		active, info := count(body, cronPrefix+"active_runs{"), count(body, cronPrefix+"info{")
		wantInfo := 0
		if objects {
			wantInfo = n
		}
		return int(c) == n && active == n && info == wantInfo,
			fmt.Sprintf("exporter reports %v CronJobs, %d with active runs, %d with their object; want %d, %d, %d", c, active, info, n, n, wantInfo), nil
	})
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// peakRSS reads VmHWM of the exporter process: its peak RSS.
func peakRSS(e *harness.Exporter) (float64, bool) {
	proc, ok := exporterProc(e)
	if !ok {
		return 0, false
	}
	return procStatusBytes(proc, "VmHWM")
}

// exporterProc is the /proc directory of the exporter process (this
// test's child, found by its listen address).
func exporterProc(e *harness.Exporter) (string, bool) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	want := "--web.listen-address=" + e.Addr()
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(want)) && bytes.Contains(cmd, []byte("kube-job-exporter")) {
			return d, true
		}
	}
	return "", false
}

// procStatusBytes reads a kB field of /proc/PID/status, in bytes.
func procStatusBytes(proc, field string) (float64, bool) {
	st, err := os.ReadFile(filepath.Join(proc, "status"))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == field+":" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				if _, v, ok := strings.Cut(line, ":"); ok {
					cpu = strings.TrimSpace(v)
				}
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				mem = fmt.Sprintf(", %.0f GiB RAM", kb/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%s%s", cpu, mem)
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func size(b int) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// grepLines returns the lines of body that contain sub.
func grepLines(body []byte, sub string) string {
	var b strings.Builder
	for _, line := range strings.Split(string(body), "\n") {
		if strings.Contains(line, sub) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// familyDiff lists the metric families whose series count differs.
func familyDiff(before, after map[string]int) string {
	var out []string
	for f, n := range after {
		if before[f] != n {
			out = append(out, fmt.Sprintf("%s %d→%d", f, before[f], n))
		}
	}
	for f, n := range before {
		if _, ok := after[f]; !ok {
			out = append(out, fmt.Sprintf("%s %d→0", f, n))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
