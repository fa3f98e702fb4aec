// Package consensus runs one penhub node's raft member: hashicorp/raft with a
// raft-boltdb/v2 log, file snapshots, a mutual-TLS transport on one TCP port shared
// with leader forwarding, and the ledger ([ledger.Ledger], the deterministic FSM on its
// own bbolt file) as the state machine. It is the only package (with consensus/ledger)
// that imports raft or bbolt; callers match errors with the sentinels and aliases of
// this package.
//
// Dependency direction: consensus → consensus/ledger, crypto. Nothing of ours imports
// consensus except node/... and cmd.
//
// # Usage
//
//  1. Fill a [Config] (start from [DefaultConfig]): node id, data directory, raft
//     address, hub CA pool, TLS certificate, node signing key, and for a new hub the
//     signed genesis envelope with Bootstrap on exactly one node.
//  2. [Open] starts the node. It returns at once; [Node.Ready] reports when the node has
//     a leader and has caught up, [Node.WaitSize] waits for the ledger to grow.
//  3. [Node.Propose] appends a signed envelope from any node (followers forward to the
//     leader) and returns once the entry is committed and applied locally.
//  4. Reads go to [Node.Ledger] (local, possibly slightly stale on a follower);
//     [Node.Barrier] first makes them at least as fresh as every write acknowledged
//     before the call.
//  5. [Node.Close] transfers leadership if this node leads, then stops.
//
// # Raft port
//
// One TCP listener carries two kinds of connection, told apart by the first byte the
// dialer sends before the TLS handshake: 1 = raft (NetworkTransport), 2 = internal RPC
// (forwarded proposals, peer status polls, read-index). TLS 1.3 with client certificates
// from the hub CA on both sides, and a peer check: the certificate's key must be that of
// a node in the committed directory (or in the genesis before it is applied).
//
// # Membership
//
// Raft's configuration follows the committed directory: the leader adds new directory
// nodes as non-voters, promotes caught-up nodes the directory marks as voters (keeping
// an odd number of voters, at most 7), demotes and removes as the directory says.
//
// # Checkpoints
//
// Each voter cosigns the Merkle tree at every multiple of the hub's checkpoint interval
// through the log (a kind-5 entry); the ledger verifies it on every node.
//
// docs/consensus.md explains the design, the goroutines and the failure handling.
package consensus
