package node

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/penhub/penhub/crypto"
)

// getCheckpoint answers this node's checkpoint of its current tree, signed now
// with its node key, and the cosignatures the log holds.
func (n *Node) getCheckpoint(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	led := n.ledger()
	size, root := led.TreeHead()
	note, err := n.checkpoints.sign(size, root, func() ([]byte, error) {
		return crypto.SignCheckpoint(crypto.Checkpoint{Origin: checkpointOrigin(n.cfg.HubID), Size: int64(size), Root: root}, n.cfg.NodeID, n.nodeKey)
	})
	if err != nil {
		return errorf(http.StatusInternalServerError, codeInternal, "signing checkpoint: "+err.Error())
	}
	type cosig struct {
		Node string `json:"node"`
		Size uint64 `json:"size"`
		Note string `json:"note"`
	}
	cos := []cosig{}
	for _, cp := range led.Checkpoints() {
		cos = append(cos, cosig{Node: cp.Node, Size: cp.Size, Note: string(cp.Note)})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"size": size, "root": base64.StdEncoding.EncodeToString(root[:]),
		"checkpoint": string(note), "cosignatures": cos, "alarms": led.Alarms(),
	})
	return nil
}

// checkpointCache keeps this node's signature of the latest tree head: a
// checkpoint has no timestamp, so re-signing the same head (a composite
// ML-DSA-65 + Ed25519 signature, about a millisecond of CPU) for every
// request would only let any token burn the node's CPU.
type checkpointCache struct {
	mu   sync.Mutex
	size uint64
	root tlog.Hash
	note []byte
}

// sign returns the cached note for (size, root), or signs one with f.
func (c *checkpointCache) sign(size uint64, root tlog.Hash, f func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.note != nil && c.size == size && c.root == root {
		return c.note, nil
	}
	note, err := f()
	if err != nil {
		return nil, err
	}
	c.size, c.root, c.note = size, root, note
	return note, nil
}

// checkpointOrigin is the origin line of this hub's checkpoints (docs/protocol.md §6).
func checkpointOrigin(hubID string) string { return "penhub/" + hubID }

func (n *Node) getEntry(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	idx, err := strconv.ParseUint(r.PathValue("index"), 10, 63)
	if err != nil {
		return errorf(http.StatusBadRequest, codeBadRequest, "index: must be a log index (0, 1, 2, ...)")
	}
	entry, err := n.ledger().Entry(idx)
	if err != nil {
		return errorf(http.StatusNotFound, codeNotFound, "no entry at this log index")
	}
	out := map[string]any{"index": entry.Index, "entry": base64.StdEncoding.EncodeToString(entry.Raw)}
	if env, err := crypto.Parse(entry.Raw); err == nil {
		out["kind"] = kindName(env.Kind)
		out["author"] = env.Author
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (n *Node) getInclusionProof(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	q := r.URL.Query()
	idx, err1 := strconv.ParseUint(q.Get("index"), 10, 63)
	size, err2 := strconv.ParseUint(q.Get("size"), 10, 63)
	if err1 != nil || err2 != nil || idx >= size {
		return errorf(http.StatusBadRequest, codeBadRequest, "index and size: need 0 <= index < size")
	}
	led := n.ledger()
	proof, err := led.InclusionProof(idx, size)
	if err != nil {
		return errorf(http.StatusNotFound, codeNotFound, "no proof: "+err.Error())
	}
	entry, err := led.Entry(idx)
	if err != nil {
		return errorf(http.StatusNotFound, codeNotFound, "no entry at this log index")
	}
	root, err := led.TreeHash(size)
	if err != nil {
		return errorf(http.StatusNotFound, codeNotFound, "no tree of this size: "+err.Error())
	}
	leaf := leafHash(entry.Raw)
	writeJSON(w, http.StatusOK, map[string]any{"index": idx, "size": size, "leaf_hash": hex.EncodeToString(leaf[:]),
		"root": base64.StdEncoding.EncodeToString(root[:]), "proof": hashes64(proof)})
	return nil
}

func (n *Node) getConsistencyProof(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 63)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 63)
	if err1 != nil || err2 != nil || from == 0 || from > to {
		return errorf(http.StatusBadRequest, codeBadRequest, "from and to: need 0 < from <= to")
	}
	led := n.ledger()
	proof, err := led.ConsistencyProof(from, to)
	if err != nil {
		return errorf(http.StatusNotFound, codeNotFound, "no proof: "+err.Error())
	}
	rf, err1 := led.TreeHash(from)
	rt, err2 := led.TreeHash(to)
	if err1 != nil || err2 != nil {
		return errorf(http.StatusNotFound, codeNotFound, "no tree of this size")
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to,
		"root_from": base64.StdEncoding.EncodeToString(rf[:]), "root_to": base64.StdEncoding.EncodeToString(rt[:]), "proof": hashes64(proof)})
	return nil
}

func hashes64[H ~[32]byte](hs []H) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func (n *Node) getStatus(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	writeJSON(w, http.StatusOK, n.cons.Status())
	return nil
}

func kindName(k crypto.Kind) string {
	switch k {
	case crypto.KindNotice:
		return "notice"
	case crypto.KindResponse:
		return "response"
	case crypto.KindReceipt:
		return "receipt"
	case crypto.KindDirectory:
		return "directory"
	case crypto.KindCosignature:
		return "cosignature"
	}
	return "unknown"
}

// getGenesis answers the genesis entry (any token): a joining node checks it
// against the hub id it was given.
func (n *Node) getGenesis(w http.ResponseWriter, r *http.Request, c caller) *apiError {
	entry, err := n.ledger().Entry(0)
	if err != nil {
		return errorf(http.StatusServiceUnavailable, codeUnavailable, "this node has not applied the genesis entry yet")
	}
	writeJSON(w, http.StatusOK, map[string]any{"hub_id": n.cfg.HubID, "entry": entry.Raw})
	return nil
}
