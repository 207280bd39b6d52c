package emulator

import (
	"net"
	"sync"
	"testing"
)

// Unresponsive is a listener on 127.0.0.1 that accepts connections and
// never answers: the endpoint every call timeout is tested against.
type Unresponsive struct {
	URL string // http://127.0.0.1:PORT
	// Accepted receives one value per accepted connection (never blocks).
	Accepted chan struct{}

	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// StartUnresponsive starts one; Close stops it.
func StartUnresponsive() (*Unresponsive, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &Unresponsive{URL: "http://" + ln.Addr().String(), Accepted: make(chan struct{}, 1024), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns = append(u.conns, c) // held open, never read or written
			u.mu.Unlock()
			select {
			case u.Accepted <- struct{}{}:
			default:
			}
		}
	}()
	return u, nil
}

// UnresponsiveForTest starts one for the test's lifetime.
func UnresponsiveForTest(t testing.TB) *Unresponsive {
	t.Helper()
	u, err := StartUnresponsive()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}

// Close stops listening and drops every connection.
func (u *Unresponsive) Close() {
	u.ln.Close()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.conns {
		c.Close()
	}
	u.conns = nil
}
