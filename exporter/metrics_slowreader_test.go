package exporter

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-job-exporter/kube-job-exporter/collectors"
	"github.com/kube-job-exporter/kube-job-exporter/job"
	"github.com/kube-job-exporter/kube-job-exporter/kube/kubefake"
)

// writeProgressFlag is the progress timeout TestStalledReadersFreeScrapeSlots
// runs with. -write-progress-timeout=0 runs it as before the timeout
// existed (the server's 2m WriteTimeout alone), where it fails:
//
//	go test ./exporter -run TestStalledReaders -args -write-progress-timeout=0
var writeProgressFlag = flag.Duration("write-progress-timeout", 2*time.Second, "TestStalledReadersFreeScrapeSlots: --web.write-progress-timeout to test with (0: off)")

// smallSendBuffers shrinks the kernel send buffer of every accepted
// connection (and sendScrape the receive buffer of the client): on Linux a
// loopback client that never reads otherwise soaks up about 4 MiB of
// response (send buffer autotuning), which would take ~4,000 Jobs in plain
// text and ~90,000 gzip-compressed to overflow; with both small, 32 KiB.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// startSlowReaderServer serves an exporter of jobsN Jobs with
// --web.max-requests=2 on a loopback listener through the server main
// runs (HTTPServer), and returns the address.
func startSlowReaderServer(t *testing.T, jobsN int, progress time.Duration) (*Exporter, string) {
	t.Helper()
	jobs, pods := benchCluster(jobsN, 2)
	var objs []k8sruntime.Object
	for i, jb := range jobs {
		objs = append(objs, jb.J)
		for _, p := range pods[i] {
			objs = append(objs, p.P)
		}
	}
	exp, err := New(Config{Client: kubefake.New(objs...), Backoff: job.DefaultBackoff, Collectors: collectors.Options{MaxIndexSeries: 50}, MaxRequests: 2})
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, exp)
	waitFor(t, "sync", func() bool {
		return exp.health.Ready() == nil && exp.watcher.Pending() == 0 && exp.jobs.Store.Len() == jobsN
	})
	srv, err := exp.HTTPServer(progress)
	if err != nil {
		t.Fatal(err)
	}
	if srv.WriteTimeout != 2*time.Minute {
		t.Fatalf("server WriteTimeout %s, this test assumes 2m", srv.WriteTimeout)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(smallSendBuffers{l}) }()
	t.Cleanup(func() { srv.Close(); <-served })
	return exp, l.Addr().String()
}

// sendScrape opens a connection and sends a GET of /metrics on it. A
// client that will stall gets a small receive buffer (one that reads must
// not: below the loopback MSS of 64 KiB the receive window only reopens by
// zero-window probes, slower and slower).
func sendScrape(t *testing.T, addr string, gzip, stall bool) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if stall {
		_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET /metrics HTTP/1.1\r\nHost: exporter\r\n"
	if gzip {
		req += "Accept-Encoding: gzip\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStalledReadersFreeScrapeSlots: two clients that send a scrape and
// never read take both slots of --web.max-requests=2, and real scrapes get
// 503; a write that makes no progress for --web.write-progress-timeout
// fails, the handlers return, and a real scrape gets its 200 while the
// stalled clients are still connected (without the progress timeout only
// the 2m WriteTimeout frees the slots, and this test fails). Plain and
// gzip-compressed responses alike. Then a client that reads slowly, with
// pauses, through a response that takes several progress timeouts gets it
// whole.
func TestStalledReadersFreeScrapeSlots(t *testing.T) {
	const jobsN = 2000 // 1.8 MiB of text, 90 KiB gzip-compressed
	progress := *writeProgressFlag
	exp, addr := startSlowReaderServer(t, jobsN, progress)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	scrape := func() (int, error) {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode == http.StatusOK {
			if n := strings.Count(string(body), "\nkubejob_info{"); n != jobsN {
				return 0, fmt.Errorf("incomplete answer: %d of %d Jobs", n, jobsN)
			}
		}
		return resp.StatusCode, nil
	}

	// Other pages pass through the progress writer unharmed.
	for path, says := range map[string]string{"/": "kube-job-exporter", "/readyz": "ok"} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), says) {
			t.Errorf("GET %s: %d, %v: %.200s", path, resp.StatusCode, err, body)
		}
	}

	cutOff := 0.0
	for _, gzip := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%t", gzip), func(t *testing.T) {
			stalled := []net.Conn{sendScrape(t, addr, gzip, true), sendScrape(t, addr, gzip, true)}
			// Each stalled client reads the status line, to know its
			// scrape holds a slot, and nothing more.
			for _, c := range stalled {
				status := make([]byte, len("HTTP/1.1 200"))
				_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
				if _, err := io.ReadFull(c, status); err != nil || string(status) != "HTTP/1.1 200" {
					t.Fatalf("stalled client: %q, %v; want a 200 holding a slot", status, err)
				}
			}
			// Both slots taken: a real scrape is refused...
			refused, ok := false, false
			deadline := time.Now().Add(60 * time.Second) // < the 2m WriteTimeout
			for !ok && time.Now().Before(deadline) {
				code, err := scrape()
				switch {
				case err != nil:
					t.Fatal(err)
				case code == http.StatusServiceUnavailable:
					refused = true
				case code == http.StatusOK && refused:
					ok = true
				case code != http.StatusOK:
					t.Fatalf("scrape: status %d", code)
				}
				if !ok {
					time.Sleep(50 * time.Millisecond)
				}
			}
			if !refused {
				t.Fatal("the stalled clients never held both slots: no scrape was refused")
			}
			if !ok {
				t.Fatalf("real scrapes still refused after 60s: the stalled clients keep the slots (progress timeout %s)", progress)
			}
			// ...until the stalled responses are cut off (and counted;
			// the handler has released its slot just before).
			cutOff += 2
			waitFor(t, "both cut-off responses counted", func() bool { return testutilCounter(exp.self.writeTimeouts) == cutOff })
		})
	}

	t.Run("slow reader", func(t *testing.T) {
		c := sendScrape(t, addr, false, false)
		start := time.Now()
		read, pauses := 0, 0
		r := readFunc(func(p []byte) (int, error) {
			// At most 8 KiB per 5ms, and a pause of half the progress
			// timeout every 512 KiB.
			time.Sleep(5 * time.Millisecond)
			if read/(512<<10) > pauses {
				pauses++
				time.Sleep(progress / 2)
			}
			n, err := c.Read(p[:min(len(p), 8<<10)])
			read += n
			return n, err
		})
		resp, err := http.ReadResponse(bufio.NewReaderSize(r, 8<<10), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("slow reader cut off after %d bytes, %s: %v", read, time.Since(start).Round(time.Millisecond), err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if n := strings.Count(string(body), "\nkubejob_info{"); n != jobsN {
			t.Errorf("incomplete answer: %d of %d Jobs", n, jobsN)
		}
		if _, err := parseBody(body); err != nil {
			t.Errorf("answer does not parse: %v", err)
		}
		t.Logf("slow reader: %d bytes in %s, %d pauses of %s", len(body), time.Since(start).Round(time.Millisecond), pauses, progress/2)
		if got := testutilCounter(exp.self.writeTimeouts); got != cutOff {
			t.Errorf("kubejob_exporter_http_write_timeouts_total = %v, want %v", got, cutOff)
		}
	})
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
