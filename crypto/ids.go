package crypto

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// NoticeID derives the entry id of a notice from the hub, the sending
// authority and the client's idempotency id (docs/protocol.md §1):
//
//	UUIDv8(SHA-256("penhub/v1/notice-id" ‖ hub_id ‖ u8 len ‖ sender ‖ u8 len ‖ client_id)[:16])
//
// A retry with the same client id therefore names the same notice. sender
// must be at most 255 bytes (authority ids are at most 64); client_id is the
// last field, so the encoding stays injective even if a client id is longer
// than 255 bytes (its length byte then saturates at 255).
func NoticeID(hubID [32]byte, sender, clientID string) [16]byte {
	h := sha256.New()
	h.Write([]byte("penhub/v1/notice-id"))
	h.Write(hubID[:])
	h.Write([]byte{byte(min(len(sender), 255))})
	h.Write([]byte(sender))
	h.Write([]byte{byte(min(len(clientID), 255))})
	h.Write([]byte(clientID))
	return uuidV8(h.Sum(nil))
}

// DerivedID derives a deterministic entry id where idempotency matters
// (receipts: DerivedID("penhub/v1/receipt-id", noticeID[:], []byte(reader))):
//
//	UUIDv8(SHA-256(label ‖ (u32 len ‖ part)*)[:16])
//
// Every part is length-prefixed, so distinct part lists never collide.
func DerivedID(label string, parts ...[]byte) [16]byte {
	h := sha256.New()
	h.Write([]byte(label))
	var l [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(l[:], uint32(len(p)))
		h.Write(l[:])
		h.Write(p)
	}
	return uuidV8(h.Sum(nil))
}

// NewEntryID reads 16 bytes from rand and returns them as a UUIDv4 (version
// and variant bits set), the id of entries that need no idempotency.
func NewEntryID(rand io.Reader) ([16]byte, error) {
	var id [16]byte
	if _, err := io.ReadFull(rand, id[:]); err != nil {
		return id, fmt.Errorf("drawing entry id: %w", err)
	}
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id, nil
}

// uuidV8 takes the first 16 bytes of sum and sets the RFC 9562 §5.8 version
// (8) and variant (10) bits.
func uuidV8(sum []byte) [16]byte {
	var id [16]byte
	copy(id[:], sum)
	id[6] = id[6]&0x0f | 0x80
	id[8] = id[8]&0x3f | 0x80
	return id
}
