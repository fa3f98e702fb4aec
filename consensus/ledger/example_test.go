package ledger_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
)

// A hub with one authority (the secretariat) on one node: apply the
// genesis entry as raft would, then read the tree head and the directory.
func Example() {
	dir, _ := os.MkdirTemp("", "ledger-example")
	defer os.RemoveAll(dir)

	// 1. Keys: the secretariat's identity and the node's checkpoint key.
	incb, _ := crypto.GenerateIdentity(rand.Reader, "INT-INCB")
	nodeKey, _ := crypto.GenerateSigningKey(rand.Reader)

	// 2. The genesis entry: a directory entry signed by the secretariat,
	// with a zero hub id.
	body, _ := json.Marshal(ledger.GenesisBody{
		HubName: "example", Secretariat: "INT-INCB",
		Authorities: []ledger.AuthorityRecord{{ID: "INT-INCB", Node: "n1",
			SignKey: incb.Sign.Public().Bytes(), KEMKey: incb.KEM.Public().Bytes()}},
		Nodes: []ledger.NodeRecord{{ID: "n1", Raft: "127.0.0.1:7501", API: "http://127.0.0.1:7401",
			TLSFingerprint: fmt.Sprintf("%064x", 1), CheckpointKey: nodeKey.Public().Bytes(), Voter: true}},
	})
	genesis, _ := crypto.SignPlain(rand.Reader, crypto.Header{Kind: crypto.KindDirectory, Author: "INT-INCB", Subtype: ledger.OpGenesis},
		body, crypto.Signer{ID: "INT-INCB", Key: incb.Sign})

	// 3. Open the ledger and apply the command as raft's FSM goroutine would.
	l, err := ledger.Open(filepath.Join(dir, "fsm.db"), ledger.Options{})
	if err != nil {
		panic(err)
	}
	defer l.Close()
	r := l.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: ledger.EncodeCommand(genesis)})
	applied := r.(*ledger.Applied)

	// 4. Reads.
	size, _ := l.TreeHead()
	fmt.Println("index", applied.Index, "kind", applied.Kind, "size", size)
	fmt.Println("authorities", l.Directory().ActiveAuthorities(), "voters", l.Directory().Voters())
	// Output:
	// index 0 kind directory size 1
	// authorities [INT-INCB] voters [n1]
}
