package consensus

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/consensus/ledger"
)

// Membership tuning (docs/consensus.md, "Membership").
const (
	reconcileEvery   = time.Second // also the peer status poll interval
	maxVoters        = 7
	promoteLag       = 256 // raft entries a non-voter may trail and still be promoted
	membershipWait   = 10 * time.Second
	peerPollTimeout  = time.Second
	peerStatFreshFor = 3 * reconcileEvery
)

// runLeaderDuties is the goroutine that, while this node leads, (1) proposes the genesis
// entry into an empty ledger and (2) makes raft's configuration follow the committed
// directory. It wakes on leadership changes, on directory changes and every
// reconcileEvery (to poll peers and promote caught-up non-voters). It owns no state
// besides n.peers, which it writes under peersMu.
func (n *Node) runLeaderDuties() {
	leaderCh := n.raft.LeaderCh()
	tick := time.NewTicker(reconcileEvery)
	defer tick.Stop()
	var lastDir *ledger.Directory
	var stall stallWatch
	wasLeader := false
	for {
		_, changed := n.ledger.Changed()
		leader := n.IsLeader()
		if leader && !wasLeader {
			n.onLeadership()
		}
		if !leader && wasLeader {
			n.peersMu.Lock()
			clear(n.peers)
			n.peersMu.Unlock()
		}
		wasLeader = leader
		if leader {
			dir := n.ledger.Directory()
			if dir != lastDir || lastDir == nil {
				n.reconcile(dir)
				lastDir = dir
			}
		}
		select {
		case <-leaderCh:
		case <-changed:
			continue // the directory pointer comparison above decides whether to act
		case <-tick.C:
			if n.IsLeader() {
				n.checkStall(&stall)
				n.pollPeers()
				n.reconcile(n.ledger.Directory())
			} else {
				stall = stallWatch{}
				n.stalled.Store(false)
			}
		case <-n.closed:
			return
		}
	}
}

// onLeadership runs once each time this node becomes leader: a barrier so the ledger has
// applied everything committed, then the genesis proposal if the ledger is still empty.
// A second genesis proposal by another leader is harmless: the ledger accepts a genesis
// entry only as the very first entry, and dedups by entry id.
func (n *Node) onLeadership() {
	n.log.Info("became raft leader", "term", n.raft.CurrentTerm())
	ctx, cancel := context.WithTimeout(context.Background(), membershipWait)
	defer cancel()
	term := n.raft.CurrentTerm()
	if err := waitFuture(ctx, n.raft.Barrier(membershipWait)); err != nil {
		n.log.Warn("leader barrier", "err", err)
		return
	}
	// The barrier committed an entry of this term, so from now on the commit index this
	// leader reports is at least every index committed by earlier leaders (read index).
	n.readyTerm.Store(term)
	if n.ledger.Size() > 0 || len(n.cfg.Genesis) == 0 {
		return
	}
	resp := n.applyLeader(ctx, n.cfg.Genesis)
	switch resp.Status {
	case stOK:
		n.log.Info("genesis entry applied", "raft_index", resp.RaftIndex)
	case stDuplicate:
	default:
		n.log.Warn("proposing genesis", "status", resp.Status, "code", resp.Code, "reason", resp.Reason, "message", resp.Message)
	}
}

// pollPeers asks every other server of the configuration for its applied index and size
// (concurrently, bounded by peerPollTimeout) and records the answers.
func (n *Node) pollPeers() {
	servers := n.configuration()
	var wg sync.WaitGroup
	for _, s := range servers {
		if string(s.ID) == n.cfg.NodeID {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), peerPollTimeout)
			defer cancel()
			resp, err := n.rpc.call(ctx, string(s.Address), opStatus, nil)
			if err != nil || resp.Status != stOK {
				return
			}
			n.peersMu.Lock()
			n.peers[string(s.ID)] = peerStat{applied: resp.AppliedRaftIndex, size: resp.Size, at: time.Now()}
			n.peersMu.Unlock()
		}()
	}
	wg.Wait()
}

// caughtUp reports whether the peer's last poll shows it within promoteLag raft entries of
// this leader's applied index.
func (n *Node) caughtUp(id string) bool {
	n.peersMu.Lock()
	ps, ok := n.peers[id]
	n.peersMu.Unlock()
	return ok && time.Since(ps.at) < peerStatFreshFor && ps.applied+promoteLag >= n.fsm.last.Load()
}

// reconcile makes raft's configuration follow dir, one step kind at a time, as leader:
//
//  1. directory nodes missing from raft join as non-voters (AddNonvoter);
//  2. servers the directory removed (or never had) leave (RemoveServer);
//  3. voters the directory marks non-voting are demoted (DemoteVoter);
//  4. caught-up non-voters the directory marks voting are promoted (AddVoter), keeping
//     the number of raft voters odd and at most maxVoters (extra directory voters stay
//     non-voters until a voter slot opens).
//
// Changes to this node itself come last (a leader that removes or demotes itself steps
// down). Errors are logged; the next tick retries.
func (n *Node) reconcile(dir *ledger.Directory) {
	if dir == nil || n.ledger.Size() == 0 || !n.IsLeader() {
		return
	}
	self := n.cfg.NodeID
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return
	}
	index := cf.Index()
	inRaft := make(map[string]raft.Server)
	voters := 0
	for _, s := range cf.Configuration().Servers {
		inRaft[string(s.ID)] = s
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	apply := func(what, id string, f raft.IndexFuture) bool {
		if err := f.Error(); err != nil {
			n.log.Warn("changing raft membership", "op", what, "peer", id, "err", err)
			return false
		}
		n.log.Info("changed raft membership", "op", what, "peer", id)
		index = f.Index()
		return true
	}

	// 1. Joins.
	for _, id := range dir.NodeIDs() {
		ni := dir.Nodes[id]
		if _, ok := inRaft[id]; ok {
			continue
		}
		if !apply("add_nonvoter", id, n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(ni.Raft), index, membershipWait)) {
			return
		}
	}
	// 2. Removals, 3. demotions (others first, then self).
	var selfOp func() bool
	for _, id := range slices.Sorted(maps.Keys(inRaft)) {
		s := inRaft[id]
		ni, ok := dir.Nodes[id]
		var op func() bool
		switch {
		case !ok || ni.Removed:
			op = func() bool { return apply("remove", id, n.raft.RemoveServer(s.ID, index, membershipWait)) }
			if s.Suffrage == raft.Voter {
				voters--
			}
		case s.Suffrage == raft.Voter && !ni.Voter:
			op = func() bool { return apply("demote", id, n.raft.DemoteVoter(s.ID, index, membershipWait)) }
			voters--
		default:
			continue
		}
		if id == self {
			selfOp = op
			continue
		}
		if !op() {
			return
		}
	}
	// 4. Promotions.
	var candidates []string
	for _, id := range dir.Voters() {
		s, ok := inRaft[id]
		if ok && s.Suffrage != raft.Voter && id != self && n.caughtUp(id) {
			candidates = append(candidates, id)
		}
	}
	target := min(voters+len(candidates), maxVoters)
	if target%2 == 0 && target > voters {
		target--
	}
	for _, id := range candidates[:max(target-voters, 0)] {
		if !apply("promote", id, n.raft.AddVoter(raft.ServerID(id), inRaft[id].Address, index, membershipWait)) {
			return
		}
	}
	if selfOp != nil {
		selfOp()
	}
}

// stallAfter is how long a leader may hold uncommitted entries without its commit index
// moving before it counts as stalled (hashicorp/raft #503: a leader whose log write hangs
// keeps heartbeating, so followers never elect another).
const stallAfter = 20 * time.Second

// stallWatch is runLeaderDuties' view of commit progress.
type stallWatch struct {
	commit uint64
	since  time.Time
	raised bool
}

// checkStall raises the leader_stalled alarm (Status) and asks raft for a leadership
// transfer when the commit index has not moved for stallAfter while entries wait. The
// transfer only helps if the leader loop is still alive; if its disk write hangs, the alarm
// is what tells the operator to restart the node.
func (n *Node) checkStall(w *stallWatch) {
	commit, last := n.raft.CommitIndex(), n.raft.LastIndex()
	switch w.step(commit, last, time.Now()) {
	case stallCleared:
		n.stalled.Store(false)
	case stallRaised:
		n.stalled.Store(true)
		n.log.Error("leader stalled: commit index has not moved", "commit_index", commit, "last_index", last, "for", stallAfter)
		_ = n.raft.LeadershipTransfer() // not awaited: it cannot complete while the leader loop hangs
	}
}

type stallEvent int

const (
	stallNone    stallEvent = iota
	stallCleared            // progress (or nothing waiting): not stalled
	stallRaised             // stalled for stallAfter, first time
)

// step records one observation and says whether the stall state changed.
func (w *stallWatch) step(commit, last uint64, now time.Time) stallEvent {
	if commit != w.commit || last <= commit || w.since.IsZero() {
		was := w.raised
		*w = stallWatch{commit: commit, since: now}
		if was {
			return stallCleared
		}
		return stallNone
	}
	if w.raised || now.Sub(w.since) < stallAfter {
		return stallNone
	}
	w.raised = true
	return stallRaised
}
