package ledger

import (
	"fmt"
	"io"
)

// Stream returns the whole database as it is now, in the format Persist
// writes and Restore reads: its exact size and a reader of it. The reader
// holds a bbolt read transaction until it is read to the end or closed;
// callers must close it (Close waits for open readers).
//
// The consensus layer sends it to a follower in place of a stored snapshot
// (a "live" snapshot): the state it carries may be newer than the snapshot
// index raft names, which is harmless because the ledger skips raft entries
// at or below the applied_raft_index it restores.
func (l *Ledger) Stream() (int64, io.ReadCloser, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return 0, nil, ErrClosed
	}
	tx, err := l.db.Begin(false)
	l.mu.RUnlock()
	if err != nil {
		return 0, nil, fmt.Errorf("starting snapshot stream: %w", err)
	}
	size := tx.Size()
	pr, pw := io.Pipe()
	go func() {
		_, err := tx.WriteTo(pw)
		_ = tx.Rollback()
		pw.CloseWithError(err)
	}()
	return size, pr, nil
}
