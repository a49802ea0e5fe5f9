package harness

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Outage is how the API server looks to the clients of Cluster.Kubeconfig()
// (the exporter, kubectl) during a simulated outage.
type Outage int

const (
	// OutageNone: the API server is reachable.
	OutageNone Outage = iota
	// OutageRefused: connections are refused, as when kube-apiserver is
	// down (the port is closed).
	OutageRefused
	// OutageReset: connections are accepted and dropped at once, as by a
	// load balancer with no healthy backend.
	OutageReset
)

func (o Outage) String() string {
	return [...]string{"none", "refused", "reset"}[o]
}

// tcpProxy forwards the kubeconfig's API server address to the real one, so
// that a test can cut external clients (the exporter, kubectl) off the API
// server while the in-process Job controller and pod driver keep working:
// an API-server outage as the exporter sees it.
type tcpProxy struct {
	addr   string
	target string

	mu     sync.Mutex
	ln     net.Listener // nil while refusing
	outage Outage
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newTCPProxy(target string) (*tcpProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.listen(ln)
	return p, nil
}

func (p *tcpProxy) listen(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go p.serve(ln)
}

func (p *tcpProxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.outage != OutageNone {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			p.pipe(c)
		}()
	}
}

func (p *tcpProxy) pipe(client net.Conn) {
	defer p.forget(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.outage != OutageNone {
		p.mu.Unlock()
		server.Close()
		return
	}
	p.conns[server] = struct{}{}
	p.mu.Unlock()
	defer p.forget(server)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(server, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, server); done <- struct{}{} }()
	<-done
}

func (p *tcpProxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// setOutage drops every open connection for an outage, closes the port for
// OutageRefused, and opens it again (same address) when the outage ends.
func (p *tcpProxy) setOutage(o Outage) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outage = o
	if o != OutageNone {
		for c := range p.conns {
			c.Close()
		}
	}
	switch {
	case o == OutageRefused && p.ln != nil:
		p.ln.Close()
		p.ln = nil
	case o != OutageRefused && p.ln == nil:
		// Re-open the same port; retry briefly if it is in TIME_WAIT use.
		var err error
		for i := 0; i < 50; i++ {
			var ln net.Listener
			if ln, err = net.Listen("tcp", p.addr); err == nil {
				p.listen(ln)
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("re-open the API server proxy on %s: %w", p.addr, err)
	}
	return nil
}

func (p *tcpProxy) close() {
	p.mu.Lock()
	p.outage = OutageRefused
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
