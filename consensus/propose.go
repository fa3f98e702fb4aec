package consensus

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/consensus/ledger"
)

// Propose appends one signed envelope to the replicated log and returns once the entry is
// committed by a quorum of voters AND applied by this node's ledger, so a local read right
// after sees it. On a follower the envelope bytes are forwarded to the leader over the
// raft port (port type 2); the leader applies them and answers the raft index, and this
// node then waits for its own ledger to reach that index.
//
// Errors:
//   - *RejectedError: every node refused the entry (same code everywhere); nothing changed.
//   - *DuplicateError: the entry id is already in the log at Index (an earlier attempt
//     succeeded); the caller answers idempotently.
//   - ErrUnavailable: no leader within Config.ForwardHold (retried with jitter meanwhile)
//     or ctx ended first; nothing was written.
//   - ErrOutcomeUnknown: leadership was lost, or the deadline passed, after the entry
//     reached raft. Retrying the same envelope is safe (see DuplicateError).
//   - ErrClosed: the node is closing.
//
// Propose does not check signatures itself; the ledger checks every entry at apply on
// every node.
func (n *Node) Propose(ctx context.Context, envelope []byte) (*Applied, error) {
	a, err := n.propose(ctx, envelope)
	n.counters.count(err)
	return a, err
}

func (n *Node) propose(ctx context.Context, envelope []byte) (*Applied, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, proposeWaitDefault)
		defer cancel()
	}
	if len(envelope) > maxRPCBody {
		return nil, &RejectedError{Code: ledger.CodeMalformed, Reason: fmt.Sprintf("envelope of %d bytes exceeds %d", len(envelope), maxRPCBody)}
	}
	ctx, cancel := n.bound(ctx)
	defer cancel()
	hold := time.Now().Add(n.cfg.ForwardHold)
	for {
		select {
		case <-n.closed:
			return nil, ErrClosed
		default:
		}
		var resp *rpcResponse
		if n.IsLeader() {
			resp = n.applyLeader(ctx, envelope)
		} else if addr, _ := n.raft.LeaderWithID(); addr != "" {
			var err error
			n.counters.forwarded.Add(1)
			resp, err = n.rpc.call(ctx, string(addr), opPropose, envelope)
			if err != nil {
				if !errors.Is(err, errNotSent) {
					return nil, fmt.Errorf("forwarding to leader: %w: %w", ErrOutcomeUnknown, err)
				}
				n.log.Debug("forwarding to leader", "leader", string(addr), "err", err)
				resp = nil
			}
		}
		if resp != nil {
			switch resp.Status {
			case stOK, stDuplicate:
				if err := n.waitApplied(ctx, resp.RaftIndex); err != nil {
					return nil, fmt.Errorf("committed at raft index %d but not applied locally: %w: %w", resp.RaftIndex, ErrOutcomeUnknown, err)
				}
				if resp.Status == stDuplicate {
					return nil, &DuplicateError{Index: resp.DupIndex}
				}
				if resp.Applied == nil {
					return nil, fmt.Errorf("leader answered ok without a result: %w", ErrOutcomeUnknown)
				}
				return resp.Applied, nil
			case stRejected:
				return nil, &RejectedError{Code: resp.Code, Reason: resp.Reason}
			case stUnknown:
				return nil, fmt.Errorf("proposing: %w: %s", ErrOutcomeUnknown, resp.Message)
			case stNotLeader, stUnavailable, stClosed:
				// Nothing was written; a closing leader hands leadership over.
			default:
				return nil, fmt.Errorf("proposing: leader answered %q: %s: %w", resp.Status, resp.Message, ErrOutcomeUnknown)
			}
		}
		if err := n.holdOff(ctx, hold); err != nil {
			return nil, err
		}
	}
}

// applyLeader applies envelope through raft on this node, which believes it leads, and
// waits for the local FSM result. It never returns nil.
func (n *Node) applyLeader(ctx context.Context, envelope []byte) *rpcResponse {
	// The enqueue wait is bounded by the caller's deadline: a leader whose loop is stuck
	// in a slow disk write for a while is not yet a reason to give up.
	enqueue := enqueueTimeout
	if dl, ok := ctx.Deadline(); ok {
		enqueue = max(time.Until(dl), time.Millisecond)
	}
	f := n.raft.Apply(ledger.EncodeCommand(envelope), enqueue)
	done := make(chan struct{})
	go func() {
		_ = f.Error()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return &rpcResponse{Status: stUnknown, Message: "deadline passed before the entry was applied: " + ctx.Err().Error()}
	case <-n.closed:
		return &rpcResponse{Status: stUnknown, Message: "node closing"}
	}
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			return &rpcResponse{Status: stNotLeader}
		case errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrEnqueueTimeout):
			// Refused before it was given an index: nothing written.
			return &rpcResponse{Status: stUnavailable, Message: err.Error()}
		case errors.Is(err, raft.ErrRaftShutdown):
			return &rpcResponse{Status: stUnknown, Message: "raft shut down"}
		default: // ErrLeadershipLost, ErrAbortedByRestore, a log store failure
			return &rpcResponse{Status: stUnknown, Message: err.Error()}
		}
	}
	resp := &rpcResponse{RaftIndex: f.Index()}
	switch r := f.Response().(type) {
	case *ledger.Applied:
		resp.Status, resp.Applied = stOK, r
	case ledger.Applied:
		resp.Status, resp.Applied = stOK, &r
	case *ledger.RejectedError:
		resp.Status, resp.Code, resp.Reason = stRejected, r.Code, r.Reason
	case *ledger.DuplicateError:
		resp.Status, resp.DupIndex = stDuplicate, r.Index
	case error:
		resp.Status, resp.Message = stError, r.Error()
	default:
		resp.Status, resp.Message = stError, fmt.Sprintf("unexpected apply response %T", r)
	}
	return resp
}

// serveRPC serves internal RPC requests on one authenticated connection, one at a time,
// until the connection fails or the node closes (mux.close closes c).
func (n *Node) serveRPC(c net.Conn) {
	br := bufio.NewReaderSize(c, 16<<10)
	for {
		op, timeout, body, err := readRequest(br)
		if err != nil {
			return
		}
		var resp *rpcResponse
		switch op {
		case opPropose:
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			if n.IsLeader() {
				resp = n.applyLeader(ctx, body)
			} else {
				resp = &rpcResponse{Status: stNotLeader}
			}
			cancel()
		case opStatus:
			resp = &rpcResponse{Status: stOK, AppliedRaftIndex: n.fsm.last.Load(), Size: n.ledger.Size()}
		case opReadIndex:
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			resp = &rpcResponse{Status: stNotLeader}
			if idx, ok := n.leaderReadIndex(ctx); ok {
				resp = &rpcResponse{Status: stOK, CommitIndex: idx}
			}
			cancel()
		default:
			resp = &rpcResponse{Status: stError, Message: fmt.Sprintf("unknown op %d", op)}
		}
		select {
		case <-n.closed:
			if resp.Status == stNotLeader {
				resp = &rpcResponse{Status: stClosed}
			}
		default:
		}
		_ = c.SetWriteDeadline(time.Now().Add(rpcWriteWait))
		if err := writeResponse(c, resp); err != nil {
			return
		}
		_ = c.SetWriteDeadline(time.Time{})
	}
}
