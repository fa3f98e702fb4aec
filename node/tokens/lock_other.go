//go:build !unix

package tokens

import "sync"

// lockMu stands in for flock where it does not exist: it excludes writers of
// this process only.
var lockMu sync.Mutex

func lockFile(string) (func(), error) {
	lockMu.Lock()
	return lockMu.Unlock, nil
}
