package ledger

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/penhub/penhub/crypto"
)

// verifyCheckpoint opens a signed checkpoint note of node (both signature
// lines with its checkpoint key, crypto.VerifyCheckpoint) and checks that
// it is this hub's; it returns the checkpoint's size and root.
func verifyCheckpoint(note []byte, node string, key *crypto.VerifyKey, hub [32]byte) (uint64, tlog.Hash, error) {
	c, err := crypto.VerifyCheckpoint(note, node, key)
	if err != nil {
		return 0, tlog.Hash{}, err
	}
	if want := crypto.CheckpointOrigin(hub); c.Origin != want {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint origin %q, want %q", c.Origin, want)
	}
	return uint64(c.Size), c.Root, nil
}
