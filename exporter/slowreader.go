package exporter

import (
	"errors"
	"net/http"
	"os"
	"time"
)

// writeChunk is the most written under one progress deadline: a
// client keeps its response as long as it accepts writeChunk bytes per
// progress timeout (1.6 KiB/s at 10s), and one that stops reading is cut
// off one timeout after the socket buffers fill.
const writeChunk = 16 << 10

// RequireWriteProgress makes every write of h's responses, in pieces of
// at most writeChunk bytes, finish within timeout of its start, and the
// server's write of what is still buffered when h returns too: a client
// that stops reading fails the handler's next write once the socket
// buffers are full, so the handler returns (releasing its scrape slot,
// see metricsHandler) within about timeout instead of holding on for the
// whole server WriteTimeout. A client that reads, however slowly, keeps
// its response. Deadlines never go past the server's WriteTimeout from
// the start of the request, which stays the bound of the whole response.
// Compressed responses are covered: the gzip writer writes through the
// ResponseWriter this wraps. onTimeout, if not nil, is called once per
// response cut off. timeout <= 0 returns h as is.
func RequireWriteProgress(h http.Handler, timeout time.Duration, onTimeout func(*http.Request)) http.Handler {
	if timeout <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}
		if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.WriteTimeout > 0 {
			pw.limit = time.Now().Add(srv.WriteTimeout)
		}
		h.ServeHTTP(pw, r)
		// The server flushes what is still buffered (and the end of
		// a chunked body) after h returns: that write gets a full
		// timeout too, not what is left of the last one's.
		pw.arm()
		if pw.timedOut && onTimeout != nil {
			onTimeout(r)
		}
	})
}

// progressWriter sets a fresh write deadline before each piece it writes.
type progressWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	limit    time.Time // the server's WriteTimeout; zero: none
	timedOut bool
}

// arm sets the connection's write deadline one timeout from now (capped at
// the limit) and returns it; zero if the connection does not support
// deadlines (then the server's WriteTimeout alone applies).
func (p *progressWriter) arm() time.Time {
	d := time.Now().Add(p.timeout)
	if !p.limit.IsZero() && p.limit.Before(d) {
		d = p.limit
	}
	if err := p.rc.SetWriteDeadline(d); err != nil {
		return time.Time{}
	}
	return d
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		p.arm()
		return p.ResponseWriter.Write(b)
	}
	written := 0
	for len(b) > 0 {
		chunk := b[:min(len(b), writeChunk)]
		deadline := p.arm()
		n, err := p.ResponseWriter.Write(chunk)
		written += n
		if err != nil {
			p.failed(err, deadline)
			return written, err
		}
		b = b[len(chunk):]
	}
	return written, nil
}

// failed notes whether a write failed because its deadline passed (rather
// than, say, the client closing the connection). HTTP/2 resets the stream
// at the deadline without saying why, hence the clock.
func (p *progressWriter) failed(err error, deadline time.Time) {
	if errors.Is(err, os.ErrDeadlineExceeded) || (!deadline.IsZero() && !time.Now().Before(deadline)) {
		p.timedOut = true
	}
}

// FlushError is what http.ResponseController.Flush calls: a flush writes
// too.
func (p *progressWriter) FlushError() error {
	deadline := p.arm()
	err := p.rc.Flush()
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		p.failed(err, deadline)
	}
	return err
}

// Flush implements http.Flusher for handlers that assert it.
func (p *progressWriter) Flush() { _ = p.FlushError() }

// Unwrap gives http.ResponseController the underlying ResponseWriter for
// everything else (read deadlines, hijacking).
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
