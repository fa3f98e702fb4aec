package consensus

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/consensus/ledger"
)

// Snapshots are "live", the way Vault's raft storage does it: the ledger's
// bbolt file is itself the durable state, so a snapshot raft takes locally
// (to truncate its log) stores only a marker, in O(1), instead of a copy of a
// database that grows with the log (≈ 1.5 GB at 100,000 notices, every
// SnapshotThreshold entries). When raft sends a snapshot to a follower it
// opens the marker, and liveSnapshots answers with a consistent stream of the
// live database instead: state at least as new as the snapshot's index, which
// the follower's ledger restores and then skips the raft entries it already
// holds. Snapshots a follower received from a leader hold real data and pass
// through unchanged.

// liveMarker is the whole content of a live snapshot. Changing it breaks
// compatibility with stored snapshots.
const liveMarker = "penhub live snapshot v1\n"

// liveSnapshot is the FSMSnapshot of a live snapshot: it writes the marker.
type liveSnapshot struct{}

var _ raft.FSMSnapshot = liveSnapshot{}

func (liveSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := io.WriteString(sink, liveMarker); err != nil {
		sink.Cancel()
		return fmt.Errorf("persisting live snapshot marker: %w", err)
	}
	return sink.Close()
}

func (liveSnapshot) Release() {}

// liveSnapshots is raft's file snapshot store whose Open turns a live
// snapshot's marker into a stream of the ledger.
type liveSnapshots struct {
	*raft.FileSnapshotStore
	ledger *ledger.Ledger
}

var _ raft.SnapshotStore = (*liveSnapshots)(nil)

// isLive reports whether snapshot id is a live marker (no data of its own).
func (s *liveSnapshots) isLive(id string) (bool, error) {
	meta, rc, err := s.FileSnapshotStore.Open(id)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	if meta.Size != int64(len(liveMarker)) {
		return false, nil
	}
	head := make([]byte, len(liveMarker))
	if _, err := io.ReadFull(rc, head); err != nil {
		return false, err
	}
	return string(head) == liveMarker, nil
}

// Open implements raft.SnapshotStore.
func (s *liveSnapshots) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	meta, rc, err := s.FileSnapshotStore.Open(id)
	if err != nil || meta.Size != int64(len(liveMarker)) {
		return meta, rc, err
	}
	head := make([]byte, len(liveMarker))
	_, err = io.ReadFull(rc, head)
	rc.Close()
	if err != nil || string(head) != liveMarker {
		return s.FileSnapshotStore.Open(id)
	}
	size, stream, err := s.ledger.Stream()
	if err != nil {
		return nil, nil, fmt.Errorf("opening live snapshot %s: %w", id, err)
	}
	m := *meta
	m.Size = size
	return &m, stream, nil
}
