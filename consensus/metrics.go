package consensus

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
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
	// Proposals by outcome (Propose calls on this node) and how many were forwarded.
	ProposeOK, ProposeRejected, ProposeDuplicate, ProposeUnavailable, ProposeUnknown, ProposeForwarded uint64
}

// proposeCounters counts Propose outcomes on this node.
type proposeCounters struct {
	ok, rejected, duplicate, unavailable, unknown, forwarded atomic.Uint64
}

func (pc *proposeCounters) count(err error) {
	var rej *RejectedError
	var dup *DuplicateError
	switch {
	case err == nil:
		pc.ok.Add(1)
	case errors.As(err, &rej):
		pc.rejected.Add(1)
	case errors.As(err, &dup):
		pc.duplicate.Add(1)
	case errors.Is(err, ErrOutcomeUnknown):
		pc.unknown.Add(1)
	default:
		pc.unavailable.Add(1)
	}
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

		ProposeOK:          n.counters.ok.Load(),
		ProposeRejected:    n.counters.rejected.Load(),
		ProposeDuplicate:   n.counters.duplicate.Load(),
		ProposeUnavailable: n.counters.unavailable.Load(),
		ProposeUnknown:     n.counters.unknown.Load(),
		ProposeForwarded:   n.counters.forwarded.Load(),
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

// Collectors returns Prometheus collectors for the consensus layer, read at scrape time:
// raft indexes and contact age, configuration size, ledger apply batches, and Propose
// outcomes. Names start with penhub_raft_, penhub_fsm_ and penhub_propose_; no label
// carries an authority id or entry data. (The node registers leader, term, log size,
// alarms and readiness itself.)
func (n *Node) Collectors() []prometheus.Collector {
	gauge := func(name, help string, f func(Metrics) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(n.Metrics()) })
	}
	counter := func(name, help string, labels prometheus.Labels, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	outcome := func(result string, c *atomic.Uint64) prometheus.Collector {
		return counter("penhub_propose_total", "Propose calls on this node by result.", prometheus.Labels{"result": result},
			func() float64 { return float64(c.Load()) })
	}
	return []prometheus.Collector{
		gauge("penhub_raft_last_log_index", "Last raft log index.", func(m Metrics) float64 { return float64(m.LastLogIndex) }),
		gauge("penhub_raft_commit_index", "Raft commit index known to this node.", func(m Metrics) float64 { return float64(m.CommitIndex) }),
		gauge("penhub_raft_applied_index", "Last raft index applied by the ledger.", func(m Metrics) float64 { return float64(m.AppliedRaftIndex) }),
		gauge("penhub_raft_last_contact_seconds", "Seconds since the leader was last heard from (0 on the leader, -1 never).", func(m Metrics) float64 { return m.LastContactAge }),
		gauge("penhub_raft_voters", "Voters in the raft configuration.", func(m Metrics) float64 { return float64(m.Voters) }),
		gauge("penhub_raft_servers", "Servers (voters and non-voters) in the raft configuration.", func(m Metrics) float64 { return float64(m.Servers) }),
		counter("penhub_fsm_batches_total", "Ledger ApplyBatch calls.", nil, func() float64 { return float64(n.fsm.batches.Load()) }),
		counter("penhub_fsm_logs_total", "Raft logs passed to the ledger.", nil, func() float64 { return float64(n.fsm.logs.Load()) }),
		counter("penhub_fsm_apply_seconds_total", "Time spent in ledger ApplyBatch.", nil, func() float64 {
			return time.Duration(n.fsm.applyNanos.Load()).Seconds()
		}),
		outcome("ok", &n.counters.ok),
		outcome("rejected", &n.counters.rejected),
		outcome("duplicate", &n.counters.duplicate),
		outcome("unavailable", &n.counters.unavailable),
		outcome("outcome_unknown", &n.counters.unknown),
		counter("penhub_propose_forwarded_total", "Proposals this node forwarded to the leader.", nil, func() float64 { return float64(n.counters.forwarded.Load()) }),
	}
}
