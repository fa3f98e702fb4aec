package consensus

import (
	"path/filepath"

	"github.com/penhub/penhub/consensus/ledger"
)

// VerifyStore audits the ledger of a stopped node's data directory offline (the engine of
// `penhub verify`): every entry's signatures against the directory as of that entry, the
// Merkle tree and the stored checkpoints. hubID, when not nil, must match the store's.
// progress, when not nil, is called as entries are checked. It returns nil when all
// holds, or a *ledger.VerifyError naming the first bad log index.
func VerifyStore(dataDir string, hubID *[32]byte, progress func(done, total uint64)) error {
	return ledger.VerifyStore(filepath.Join(dataDir, fsmFile), hubID, progress)
}

// FSMPath returns the path of the ledger file inside a data directory.
func FSMPath(dataDir string) string { return filepath.Join(dataDir, fsmFile) }
