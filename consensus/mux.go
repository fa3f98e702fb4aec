package consensus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Port types: the first byte a dialer sends on the raft port, in clear, before the TLS
// handshake (the rqlite/Consul pattern). Changing these breaks compatibility between nodes.
const (
	muxRaft byte = 1 // raft's NetworkTransport (AppendEntries, votes, snapshots)
	muxRPC  byte = 2 // internal RPC: leader forwarding, peer status, read index (rpc.go)
)

// handshakeTimeout bounds the first byte and the TLS handshake of an inbound connection,
// so a silent peer cannot hold a goroutine.
const handshakeTimeout = 10 * time.Second

// mux owns the node's one TCP listener. Its accept loop hands each connection to a
// short-lived goroutine that reads the port type, runs the TLS handshake (which includes
// the peer check) and then routes the connection: raft connections to the stream layer's
// Accept, RPC connections to the RPC server, which serves them on the same goroutine.
type mux struct {
	ln        net.Listener
	advertise net.Addr
	serverTLS *tls.Config
	clientTLS func(addr string) *tls.Config
	log       *slog.Logger
	serveRPC  func(c net.Conn) // set before start; serves until c fails or mux closes

	raftConns chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{} // accepted connections, closed by close()
}

func newMux(ln net.Listener, advertise net.Addr, serverTLS *tls.Config, clientTLS func(string) *tls.Config, log *slog.Logger) *mux {
	return &mux{
		ln:        ln,
		advertise: advertise,
		serverTLS: serverTLS,
		clientTLS: clientTLS,
		log:       log,
		raftConns: make(chan net.Conn),
		closed:    make(chan struct{}),
		conns:     make(map[net.Conn]struct{}),
	}
}

func (m *mux) start() {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.acceptLoop()
	}()
}

func (m *mux) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.Warn("accepting on raft port", "err", err)
			select {
			case <-time.After(backoff):
				continue
			case <-m.closed:
				return
			}
		}
		backoff = 0
		if !m.track(c) {
			c.Close()
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.handle(c)
		}()
	}
}

// track registers c so close() can interrupt it; false if the mux is closed.
func (m *mux) track(c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conns == nil {
		return false
	}
	m.conns[c] = struct{}{}
	return true
}

func (m *mux) untrack(c net.Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns, c)
}

// handle authenticates and routes one inbound connection. It untracks c when it is done
// with it, except for raft connections, which untrack themselves on Close.
func (m *mux) handle(c net.Conn) {
	owned := false
	defer func() {
		if !owned {
			c.Close()
			m.untrack(c)
		}
	}()
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	var typ [1]byte
	if _, err := io.ReadFull(c, typ[:]); err != nil {
		return
	}
	if typ[0] != muxRaft && typ[0] != muxRPC {
		m.log.Debug("refusing connection with unknown port type", "remote", c.RemoteAddr().String(), "type", typ[0])
		return
	}
	tc := tls.Server(c, m.serverTLS)
	if err := tc.Handshake(); err != nil {
		m.log.Info("refusing peer on raft port", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	_ = c.SetDeadline(time.Time{})
	switch typ[0] {
	case muxRaft:
		// raft's transport owns the connection from here; it stays tracked until
		// raft closes it, so that close() can interrupt it.
		select {
		case m.raftConns <- &trackedConn{Conn: tc, m: m, raw: c}:
			owned = true
		case <-m.closed:
		}
	case muxRPC:
		m.serveRPC(tc)
	}
}

// trackedConn is an inbound raft connection; closing it untracks the raw connection.
type trackedConn struct {
	net.Conn
	m    *mux
	raw  net.Conn
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.m.untrack(c.raw) })
	return err
}

// dial opens a connection of port type typ to addr: TCP, the type byte, then a TLS 1.3
// client handshake that checks the server's fingerprint against the directory.
func (m *mux) dial(ctx context.Context, typ byte, addr string) (*tls.Conn, error) {
	select {
	case <-m.closed:
		return nil, ErrClosed
	default:
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %q: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte{typ}); err != nil {
		c.Close()
		return nil, fmt.Errorf("writing port type to %q: %w", addr, err)
	}
	tc := tls.Client(c, m.clientTLS(addr))
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls handshake with %q: %w", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	return tc, nil
}

// close stops the listener, interrupts every accepted connection and waits for the
// per-connection goroutines. Idempotent.
func (m *mux) close() {
	m.closeOnce.Do(func() {
		close(m.closed)
		m.ln.Close()
		m.mu.Lock()
		for c := range m.conns {
			c.Close()
		}
		m.conns = nil
		m.mu.Unlock()
	})
	m.wg.Wait()
}

// streamLayer is the raft.StreamLayer view of the mux: Accept yields raft-typed inbound
// connections, Dial opens raft-typed outbound ones. Closing it does not close the mux
// (the Node closes the mux after raft has shut down).
type streamLayer struct {
	m         *mux
	closed    chan struct{}
	closeOnce sync.Once
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func newStreamLayer(m *mux) *streamLayer {
	return &streamLayer{m: m, closed: make(chan struct{})}
}

// Accept waits for the next authenticated raft connection.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.m.raftConns:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	case <-s.m.closed:
		return nil, net.ErrClosed
	}
}

// Close stops Accept; idempotent.
func (s *streamLayer) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// Addr is the advertised raft address (never 0.0.0.0).
func (s *streamLayer) Addr() net.Addr { return s.m.advertise }

// Dial opens a mutually authenticated raft connection to address.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.m.dial(ctx, muxRaft, string(address))
}
