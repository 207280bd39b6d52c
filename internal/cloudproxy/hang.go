package cloudproxy

import (
	"fmt"
	"io"
	"net"
	"sync"
)

// Hanging is an endpoint that accepts connections and reads requests but
// never answers: for tests of deadlines and timeouts.
type Hanging struct {
	// URL is http://127.0.0.1:PORT.
	URL string

	listener net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	closed   bool
}

// Hang starts a hanging endpoint on a free 127.0.0.1 port.
func Hang() (*Hanging, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cloudproxy: listen on 127.0.0.1: %w", err)
	}
	h := &Hanging{URL: "http://" + l.Addr().String(), listener: l}
	go h.accept()
	return h, nil
}

func (h *Hanging) accept() {
	for {
		c, err := h.listener.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			c.Close()
			return
		}
		h.conns = append(h.conns, c)
		h.mu.Unlock()
		// Read and discard, so the client's write never blocks.
		go io.Copy(io.Discard, c) //nolint:errcheck // ends when the connection closes
	}
}

// Accepted is how many connections it has accepted.
func (h *Hanging) Accepted() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Close closes the listener and every connection.
func (h *Hanging) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.listener.Close()
	for _, c := range h.conns {
		c.Close()
	}
}
