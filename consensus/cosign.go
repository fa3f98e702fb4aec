package consensus

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/penhub/penhub/crypto"
)

// Cosigning (docs/protocol.md §6, SPEC §6.4): a voter whose ledger size reaches a multiple
// of Policy.CheckpointInterval signs a checkpoint of its tree at exactly that size and
// proposes it as a kind-5 entry. Every node verifies the checkpoint against its own tree
// at apply (the ledger does). The trigger is the log's growth, never a timer, so an idle
// hub writes nothing: a multiple whose preceding interval holds only cosignatures is not
// cosigned, which stops cosignatures from triggering each other.

// cosignIDLabel derives the entry id of a cosignature from (node id, size), so a retry or a
// restart cannot append the same cosignature twice. Changing it breaks compatibility.
const cosignIDLabel = "penhub/v1/cosignature-id"

const (
	cosignRetry   = 2 * time.Second  // re-check after a failed attempt even if the log is idle
	cosignTimeout = 30 * time.Second // bound on one cosignature proposal
)

// envelope header offset of the kind byte: magic[4] suite:u16.
const kindOffset = 6

// runCosigner is the goroutine that owns the cosigning state (done: the highest multiple
// already cosigned or skipped). It wakes on every ledger change and every cosignRetry.
func (n *Node) runCosigner() {
	var done uint64
	tick := time.NewTicker(cosignRetry)
	defer tick.Stop()
	for {
		size, changed := n.ledger.Changed()
		done = n.maybeCosign(size, done)
		select {
		case <-changed:
		case <-tick.C:
		case <-n.closed:
			return
		}
	}
}

// maybeCosign cosigns the newest multiple of the checkpoint interval ≤ size if this node
// is a voter, caught up, and has not done it yet; it returns the new done mark.
func (n *Node) maybeCosign(size, done uint64) uint64 {
	if size == 0 {
		return done
	}
	dir := n.ledger.Directory()
	interval := dir.Policy.CheckpointInterval
	if interval == 0 {
		return done
	}
	target := size / interval * interval
	if target == 0 || target <= done {
		return done
	}
	self, ok := dir.Node(n.cfg.NodeID)
	if !ok || !self.Voter || self.Removed || !n.Ready() {
		return done
	}
	id := cosignID(n.cfg.NodeID, target)
	if _, err := n.ledger.EntryByID(id); err == nil {
		return target
	}
	if onlyCosignatures, err := n.onlyCosignatures(target-interval, target); err != nil {
		n.log.Warn("cosigning: reading entries", "size", target, "err", err)
		return done
	} else if onlyCosignatures {
		return target
	}
	env, err := n.signCheckpoint(target, id)
	if err != nil {
		n.log.Error("cosigning checkpoint", "size", target, "err", err)
		return done
	}
	ctx, cancel := context.WithTimeout(context.Background(), cosignTimeout)
	defer cancel()
	_, err = n.Propose(ctx, env)
	var dup *DuplicateError
	var rej *RejectedError
	switch {
	case err == nil || errors.As(err, &dup):
		n.log.Debug("cosigned checkpoint", "size", target)
		return target
	case errors.As(err, &rej):
		n.log.Warn("cosignature rejected", "size", target, "code", rej.Code, "reason", rej.Reason)
		return target
	default:
		n.log.Info("cosignature not committed; will retry", "size", target, "err", err)
		return done
	}
}

func cosignID(nodeID string, size uint64) [16]byte {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], size)
	return crypto.DerivedID(cosignIDLabel, []byte(nodeID), s[:])
}

// onlyCosignatures reports whether every entry with log index in [from, to) is a
// cosignature.
func (n *Node) onlyCosignatures(from, to uint64) (bool, error) {
	for i := to; i > from; i-- {
		e, err := n.ledger.Entry(i - 1)
		if err != nil {
			return false, err
		}
		if len(e.Raw) <= kindOffset || crypto.Kind(e.Raw[kindOffset]) != crypto.KindCosignature {
			return false, nil
		}
	}
	return true, nil
}

// signCheckpoint builds the kind-5 envelope of this node's checkpoint at size.
func (n *Node) signCheckpoint(size uint64, id [16]byte) ([]byte, error) {
	root, err := n.ledger.TreeHash(size)
	if err != nil {
		return nil, fmt.Errorf("computing tree hash at size %d: %w", size, err)
	}
	hub := n.ledger.HubID()
	cp := crypto.Checkpoint{Origin: crypto.CheckpointOrigin(hub), Size: int64(size), Root: root}
	note, err := crypto.SignCheckpoint(cp, n.cfg.NodeID, n.cfg.NodeKey)
	if err != nil {
		return nil, fmt.Errorf("signing checkpoint: %w", err)
	}
	h := crypto.Header{
		Kind:      crypto.KindCosignature,
		HubID:     hub,
		EntryID:   id,
		CreatedMS: time.Now().UnixMilli(),
		Author:    n.cfg.NodeID,
	}
	env, err := crypto.SignPlain(rand.Reader, h, note, crypto.Signer{ID: n.cfg.NodeID, Key: n.cfg.NodeKey})
	if err != nil {
		return nil, fmt.Errorf("sealing cosignature envelope: %w", err)
	}
	return env, nil
}
