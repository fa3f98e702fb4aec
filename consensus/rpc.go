package consensus

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Internal RPC on port type 2 (muxRPC), after the TLS handshake. One connection carries
// one request at a time; a client keeps a small pool of idle connections per leader.
//
//	request  = op:u8 timeout_ms:u32 len:u32 body[len]
//	response = len:u32 json[len]                       ; rpcResponse
//
// Integers are big-endian; len ≤ maxRPCBody. Ops and status strings below are part of the
// wire format between nodes of one hub: changing them breaks compatibility.
const (
	opPropose   byte = 1 // body = envelope bytes; the receiver must be the leader
	opStatus    byte = 2 // body empty; answers the receiver's applied raft index and size
	opReadIndex byte = 3 // body empty; the leader confirms leadership, answers its commit index

	maxRPCBody = 2 << 20 // an envelope is ≤ 1 MiB of payload plus signatures

	rpcIdleMax   = 64               // idle connections kept per address (≥ typical concurrent forwards)
	rpcIdleAge   = 30 * time.Second // an idle connection older than this is not reused
	rpcWriteWait = 10 * time.Second // bound on writing one frame
)

// Response statuses.
const (
	stOK          = "ok"
	stRejected    = "rejected"
	stDuplicate   = "duplicate"
	stNotLeader   = "not_leader"
	stUnavailable = "unavailable" // nothing was written; retry elsewhere or later
	stUnknown     = "unknown"     // the entry may or may not be committed
	stClosed      = "closed"
	stError       = "error"
)

type rpcResponse struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// opPropose
	RaftIndex uint64   `json:"raft_index,omitempty"`
	Applied   *Applied `json:"applied,omitempty"`
	Code      string   `json:"code,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	DupIndex  uint64   `json:"dup_index,omitempty"`
	// opStatus
	AppliedRaftIndex uint64 `json:"applied_raft_index,omitempty"`
	Size             uint64 `json:"size,omitempty"`
	// opReadIndex
	CommitIndex uint64 `json:"commit_index,omitempty"`
}

func writeRequest(w io.Writer, op byte, timeout time.Duration, body []byte) error {
	ms := timeout.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	ms = min(ms, 1<<31)
	var hdr [9]byte
	hdr[0] = op
	binary.BigEndian.PutUint32(hdr[1:5], uint32(ms))
	binary.BigEndian.PutUint32(hdr[5:9], uint32(len(body)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

func readRequest(r io.Reader) (op byte, timeout time.Duration, body []byte, err error) {
	var hdr [9]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[5:9])
	if n > maxRPCBody {
		return 0, 0, nil, fmt.Errorf("rpc request of %d bytes exceeds %d", n, maxRPCBody)
	}
	body = make([]byte, n)
	if _, err = io.ReadFull(r, body); err != nil {
		return 0, 0, nil, err
	}
	return hdr[0], time.Duration(binary.BigEndian.Uint32(hdr[1:5])) * time.Millisecond, body, nil
}

func writeResponse(w io.Writer, resp *rpcResponse) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		return err
	}
	return nil
}

func readResponse(r io.Reader) (*rpcResponse, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxRPCBody {
		return nil, fmt.Errorf("rpc response of %d bytes exceeds %d", n, maxRPCBody)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	var resp rpcResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("decoding rpc response: %w", err)
	}
	return &resp, nil
}

// errNotSent marks an RPC failure that happened before any request byte left this node,
// so the request certainly had no effect.
var errNotSent = errors.New("rpc request not sent")

// rpcClient keeps idle RPC connections per address. Safe for concurrent use.
type rpcClient struct {
	m *mux

	mu   sync.Mutex
	idle map[string][]idleConn
}

type idleConn struct {
	c     *tls.Conn
	since time.Time
}

func newRPCClient(m *mux) *rpcClient {
	return &rpcClient{m: m, idle: make(map[string][]idleConn)}
}

func (rc *rpcClient) get(ctx context.Context, addr string) (*tls.Conn, error) {
	rc.mu.Lock()
	for list := rc.idle[addr]; len(list) > 0; list = rc.idle[addr] {
		ic := list[len(list)-1]
		rc.idle[addr] = list[:len(list)-1]
		if time.Since(ic.since) < rpcIdleAge {
			rc.mu.Unlock()
			return ic.c, nil
		}
		ic.c.Close()
	}
	rc.mu.Unlock()
	return rc.m.dial(ctx, muxRPC, addr)
}

func (rc *rpcClient) put(addr string, c *tls.Conn) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.idle == nil || len(rc.idle[addr]) >= rpcIdleMax {
		c.Close()
		return
	}
	rc.idle[addr] = append(rc.idle[addr], idleConn{c: c, since: time.Now()})
}

// close closes every idle connection; later puts close their connection.
func (rc *rpcClient) close() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, list := range rc.idle {
		for _, ic := range list {
			ic.c.Close()
		}
	}
	rc.idle = nil
}

// call sends one request to addr and waits for its response until ctx is done. An error
// wrapping errNotSent means the request never left this node.
func (rc *rpcClient) call(ctx context.Context, addr string, op byte, body []byte) (*rpcResponse, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(time.Minute)
	}
	c, err := rc.get(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotSent, err)
	}
	_ = c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	bw := bufio.NewWriterSize(c, 16<<10)
	if err := writeRequest(bw, op, time.Until(dl), body); err == nil {
		err = bw.Flush()
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("sending rpc to %q: %w", addr, err)
	}
	resp, err := readResponse(c)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("reading rpc response from %q: %w", addr, err)
	}
	if !stop() {
		c.Close() // ctx fired: the deadline may be poisoned
	} else {
		_ = c.SetDeadline(time.Time{})
		rc.put(addr, c)
	}
	return resp, nil
}
