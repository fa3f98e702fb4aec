package consensus

import (
	"time"

	"github.com/hashicorp/raft"
)

// Metrics is a point-in-time set of counters and gauges for the node's /metrics endpoint.
// Counters only grow while the node runs. No label-worthy data (authority ids, notice
// content) is included.
type Metrics struct {
	IsLeader         bool
	Term             uint64
	LastLogIndex     uint64  // raft's last log index
	CommitIndex      uint64  // raft's commit index as known here
	AppliedRaftIndex uint64  // last raft index the ledger has finished
	LedgerSize       uint64  // entries in the ledger
	LastContactAge   float64 // seconds since the leader was last heard from (0 on the leader, -1 never)
	Voters, Servers  int     // raft configuration
	FSMBatches       uint64  // ledger ApplyBatch calls
	FSMLogs          uint64  // raft logs passed to them
	FSMApplySeconds  float64 // time spent in them
}

// Metrics returns the node's current metrics.
func (n *Node) Metrics() Metrics {
	m := Metrics{
		IsLeader:         n.IsLeader(),
		Term:             n.raft.CurrentTerm(),
		LastLogIndex:     n.raft.LastIndex(),
		CommitIndex:      n.raft.CommitIndex(),
		AppliedRaftIndex: n.fsm.last.Load(),
		LedgerSize:       n.ledger.Size(),
		FSMBatches:       n.fsm.batches.Load(),
		FSMLogs:          n.fsm.logs.Load(),
		FSMApplySeconds:  time.Duration(n.fsm.applyNanos.Load()).Seconds(),
		LastContactAge:   -1,
	}
	if m.IsLeader {
		m.LastContactAge = 0
	} else if lc := n.raft.LastContact(); !lc.IsZero() {
		m.LastContactAge = time.Since(lc).Seconds()
	}
	for _, s := range n.configuration() {
		m.Servers++
		if s.Suffrage == raft.Voter {
			m.Voters++
		}
	}
	return m
}
