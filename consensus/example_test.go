package consensus_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/penhub/penhub/consensus"
	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
)

// Example starts a one-node hub: a hub CA and node certificate, a node key, two
// authorities, a genesis signed by the secretariat, then Open, wait for the genesis to be
// applied, and propose a sealed notice.
func Example() {
	dir, _ := os.MkdirTemp("", "penhub-example")
	defer os.RemoveAll(dir)

	ca, _ := crypto.NewCA("example hub")
	cert, _ := ca.Issue("node1", []net.IP{net.IPv4(127, 0, 0, 1)})
	fp, _ := crypto.CertificateFingerprint(cert)
	nodeKey, _ := crypto.GenerateSigningKey(rand.Reader)
	sec, _ := crypto.GenerateIdentity(rand.Reader, "INT-INCB")
	de, _ := crypto.GenerateIdentity(rand.Reader, "DE")

	// The raft address must be known before the genesis names it.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	raftAddr := ln.Addr().String()
	ln.Close()

	body, _ := json.Marshal(ledger.GenesisBody{
		HubName: "example", CreatedAt: "2026-11-28T00:00:00Z", Secretariat: "INT-INCB",
		CopyTo: []string{}, CheckpointInterval: 1000,
		Authorities: []ledger.AuthorityRecord{
			{ID: "INT-INCB", Node: "node1", SignKey: sec.Sign.Public().Bytes(), KEMKey: sec.KEM.Public().Bytes()},
			{ID: "DE", Node: "node1", SignKey: de.Sign.Public().Bytes(), KEMKey: de.KEM.Public().Bytes()},
		},
		Nodes: []ledger.NodeRecord{{ID: "node1", Raft: raftAddr, API: "http://127.0.0.1:7401",
			TLSFingerprint: fp, CheckpointKey: nodeKey.Public().Bytes(), Voter: true}},
	})
	genesis, _ := crypto.SignPlain(rand.Reader, crypto.Header{
		Kind: crypto.KindDirectory, CreatedMS: time.Now().UnixMilli(), Author: "INT-INCB", Subtype: ledger.OpGenesis,
	}, body, crypto.Signer{ID: "INT-INCB", Key: sec.Sign})
	hub := sha256.Sum256(genesis)

	cfg := consensus.DefaultConfig()
	cfg.NodeID, cfg.DataDir, cfg.RaftBind = "node1", dir, raftAddr
	cfg.CACert, cfg.Cert, cfg.NodeKey = ca.Pool(), cert, nodeKey
	cfg.Bootstrap, cfg.Genesis = true, genesis
	cfg.Logger = slog.New(slog.DiscardHandler)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := consensus.Open(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Close(context.Background())
	if err := node.WaitSize(ctx, 1); err != nil { // the genesis entry
		fmt.Println(err)
		return
	}

	notice, _ := crypto.Seal(rand.Reader, crypto.Header{
		Kind: crypto.KindNotice, HubID: hub, EntryID: crypto.NoticeID(hub, "DE", "client-1"),
		CreatedMS: time.Now().UnixMilli(), Author: "DE", Subtype: "pre_export",
	}, []crypto.Recipient{{ID: "INT-INCB", Key: sec.KEM.Public()}, {ID: "DE", Key: de.KEM.Public()}},
		[]byte(`{"body":{}}`), crypto.Signer{ID: "DE", Key: de.Sign})
	applied, err := node.Propose(ctx, notice)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("notice at log index", applied.Index)

	// A retry of the same envelope is answered with the original index.
	_, err = node.Propose(ctx, notice)
	fmt.Println(err)
	// Output:
	// notice at log index 1
	// entry rejected: duplicate: entry id already applied at log index 1
}
