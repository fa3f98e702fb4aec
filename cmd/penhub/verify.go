package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/node"
)

func init() {
	register("verify", "audit a stopped node's store offline: signatures, Merkle tree, checkpoints", runVerify)
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the node's data directory")
	hubFlag := fs.String("hub-id", "", "expected hub id (hex); default: the node config's hub_id")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: penhub verify --data-dir DIR [--hub-id H]")
		return 2
	}
	hubHex := *hubFlag
	if hubHex == "" {
		if cfg, err := node.LoadConfig(*dataDir); err == nil {
			hubHex = cfg.HubID
		}
	}
	var hub *[32]byte
	if hubHex != "" {
		b, err := hex.DecodeString(hubHex)
		if err != nil || len(b) != 32 {
			fmt.Fprintf(stderr, "penhub: --hub-id: %q is not 64 hex digits\n", hubHex)
			return 2
		}
		hub = (*[32]byte)(b)
	}
	path := filepath.Join(*dataDir, "fsm.db")
	if _, err := os.Stat(path); err != nil {
		return fail(stderr, "opening store", err)
	}
	progress := func(done, total uint64) {}
	if isTerminal(stderr) {
		progress = func(done, total uint64) {
			if total == 0 || (done%1000 != 0 && done != total) {
				return
			}
			const width = 40
			filled := int(done * width / total)
			fmt.Fprintf(stderr, "\r[%-*s] %d/%d", width, string(bar(filled)), done, total)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	err := ledger.VerifyStore(path, hub, progress)
	var ve *ledger.VerifyError
	switch {
	case errors.As(err, &ve):
		fmt.Fprintf(stderr, "penhub: verify: log index %d: %s\n", ve.Index, ve.Reason)
		return 1
	case err != nil:
		return fail(stderr, "verify", err)
	}
	fmt.Fprintf(stdout, "ok: every entry, the Merkle tree and the stored checkpoints of %s verify\n", *dataDir)
	return 0
}

func bar(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = '='
	}
	return b
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
