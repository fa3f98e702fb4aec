package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/schema"
)

// benchSenders maps each sending authority of the dev hub to the two
// authorities it addresses; the importer is the first. The secretariat
// INT-INCB gets its automatic copy of every pre_export (copy_to), so every
// notice has 3 recipients plus the sender's own copy (SPEC §8).
var benchSenders = map[string][2]string{
	"DE": {"NL", "IN"},
	"NL": {"DE", "IN"},
	"IN": {"NL", "DE"},
}

// benchCopyTo is the dev hub's copy_to authority.
const benchCopyTo = "INT-INCB"

// benchNotice holds the request of each sender as a template (prefix + client
// id + suffix) and the size of the sealed envelope.
type benchNotice struct {
	bodySize     int
	requests     map[string][2][]byte // sender → request JSON before and after the client id
	bodies       map[string][]byte    // sender → body JSON
	envelopeSize int                  // bytes of a sealed notice (what raft replicates)
}

// benchBody returns a valid pre_export body from sender to importer whose
// compact JSON is exactly size bytes, padded in remarks.
func benchBody(sender, importer string, size int, today time.Time) ([]byte, error) {
	body := map[string]any{
		"exporter": map[string]any{"name": "Bench Chemicals " + sender, "address": "1 Test Street, Capital", "country": sender},
		"importer": map[string]any{"name": "Bench Pharma " + importer, "address": "2 Harbour Road, Port", "country": importer},
		"items": []any{
			map[string]any{"substance": "Pseudoephedrine", "form": "hydrochloride", "cas": "345-78-8", "hs_code": "2939.42.00", "quantity": 250, "unit": "kg", "packaging": "10 fibre drums of 25 kg"},
			map[string]any{"substance": "Acetic anhydride", "cas": "108-24-7", "hs_code": "2915.24", "quantity": 1000, "unit": "L", "packaging": "5 steel drums of 200 L"},
		},
		"export_authorization": sender + "-AUTH-2026-0001",
		"transport": map[string]any{
			"mode": "sea", "route": []string{sender, importer},
			"departure_date": today.AddDate(0, 2, 0).Format(time.DateOnly),
		},
		"response_deadline": today.AddDate(0, 1, 0).Format(time.DateOnly),
		"end_use":           "Manufacture of decongestant tablets",
		"remarks":           "",
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding bench body: %w", err)
	}
	pad := size - len(raw)
	if pad < 0 {
		return nil, fmt.Errorf("building bench body: %d bytes is less than the %d of a minimal body", size, len(raw))
	}
	const words = "Partial shipments by sea under the same authorization, consignee audited on site. "
	body["remarks"] = strings.Repeat(words, pad/len(words)+1)[:pad]
	if raw, err = json.Marshal(body); err != nil {
		return nil, fmt.Errorf("encoding bench body: %w", err)
	}
	if len(raw) != size {
		return nil, fmt.Errorf("building bench body: got %d bytes, want %d", len(raw), size)
	}
	return raw, nil
}

func newBenchNotice(bodySize int) (benchNotice, error) {
	n := benchNotice{bodySize: bodySize, requests: map[string][2][]byte{}, bodies: map[string][]byte{}}
	today := time.Now().UTC()
	for sender, rcpts := range benchSenders {
		body, err := benchBody(sender, rcpts[0], bodySize, today)
		if err != nil {
			return n, err
		}
		rj, _ := json.Marshal(rcpts[:])
		pre := []byte(`{"id":"`)
		post := []byte(`","type":"pre_export","recipients":` + string(rj) + `,"handling":"H0","body":` + string(body) + `}`)
		// Fail fast on a request the nodes would refuse.
		full := append(append(append([]byte{}, pre...), uuid.NewString()...), post...)
		req, err := schema.DecodeNoticeRequest(full)
		if err != nil {
			return n, fmt.Errorf("decoding bench request of %s: %w", sender, err)
		}
		if fe := schema.ValidateNotice(req, today); len(fe) > 0 {
			return n, fmt.Errorf("validating bench request of %s: %s: %s", sender, fe[0].Field, fe[0].Problem)
		}
		n.requests[sender] = [2][]byte{pre, post}
		n.bodies[sender] = body
	}
	k, err := newCryptoKit()
	if err != nil {
		return n, err
	}
	env, err := k.seal(n.bodies["DE"], "DE", "size")
	if err != nil {
		return n, err
	}
	n.envelopeSize = len(env)
	return n, nil
}

// request returns sender's request with a fresh client id.
func (n benchNotice) request(sender string) []byte {
	t := n.requests[sender]
	out := make([]byte, 0, len(t[0])+36+len(t[1]))
	out = append(out, t[0]...)
	out = append(out, uuid.NewString()...)
	return append(out, t[1]...)
}

// cryptoKit holds fresh identities of the authorities a bench notice
// involves, to seal, sign and verify outside the cluster.
type cryptoKit struct {
	hub [32]byte
	ids map[string]*crypto.Identity
}

func newCryptoKit() (*cryptoKit, error) {
	k := &cryptoKit{ids: map[string]*crypto.Identity{}}
	if _, err := rand.Read(k.hub[:]); err != nil {
		return nil, fmt.Errorf("drawing hub id: %w", err)
	}
	for _, a := range []string{"DE", "NL", "IN", benchCopyTo} {
		id, err := crypto.GenerateIdentity(rand.Reader, a)
		if err != nil {
			return nil, err
		}
		k.ids[a] = id
	}
	return k, nil
}

// seal does what the sender's home node does for a notice (node/notices.go):
// the plaintext {client_id, request_digest, body}, one key wrap per recipient
// and for the sender, and the sender's composite signature.
func (k *cryptoKit) seal(body []byte, sender, clientID string) ([]byte, error) {
	rc := benchSenders[sender]
	recipients := []string{rc[0], rc[1], benchCopyTo}
	digest := sha256.Sum256(body)
	plain, err := json.Marshal(struct {
		ClientID string          `json:"client_id"`
		Digest   string          `json:"request_digest"`
		Body     json.RawMessage `json:"body"`
	}{clientID, hex.EncodeToString(digest[:]), body})
	if err != nil {
		return nil, fmt.Errorf("encoding notice plaintext: %w", err)
	}
	h := crypto.Header{
		Kind: crypto.KindNotice, HubID: k.hub, EntryID: crypto.NoticeID(k.hub, sender, clientID),
		CreatedMS: time.Now().UnixMilli(), Author: sender, Subtype: "pre_export", Recipients: recipients,
	}
	var rs []crypto.Recipient
	for _, a := range append(recipients, sender) {
		rs = append(rs, crypto.Recipient{ID: a, Key: k.ids[a].KEM.Public()})
	}
	return crypto.Seal(rand.Reader, h, rs, plain, crypto.Signer{ID: sender, Key: k.ids[sender].Sign})
}

// verify does what every node does at apply time: parse the envelope and
// check each signature (both halves) against the signer's key.
func (k *cryptoKit) verify(env []byte) error {
	e, err := crypto.Parse(env)
	if err != nil {
		return err
	}
	for i, s := range e.Sigs {
		id, ok := k.ids[s.Signer]
		if !ok {
			return fmt.Errorf("verifying: unknown signer %q", s.Signer)
		}
		if err := e.VerifySignature(i, id.Sign.Public()); err != nil {
			return err
		}
	}
	return nil
}

// runCrypto measures crypto_ceiling: seal + sign + 3 verifies (one per node)
// of bench notices in a tight loop on GOMAXPROCS goroutines, no I/O.
func (b *bencher) runCrypto(ctx context.Context) error {
	k, err := newCryptoKit()
	if err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	b.logf("%s: seal + sign + 3 verifies per notice on %d goroutines for %v", scCrypto, workers, b.cfg.cryptoDur)
	var (
		mu        sync.Mutex
		all       []time.Duration
		sealNanos atomic.Int64
		verNanos  atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	stop := time.Now().Add(b.cfg.cryptoDur)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			senders := b.cfg.senders
			for i := 0; ctx.Err() == nil && time.Now().Before(stop); i++ {
				sender := senders[i%len(senders)]
				t0 := time.Now()
				env, err := k.seal(b.notice.bodies[sender], sender, uuid.NewString())
				t1 := time.Now()
				for v := 0; v < 3 && err == nil; v++ {
					err = k.verify(env)
				}
				t2 := time.Now()
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				sealNanos.Add(int64(t1.Sub(t0)))
				verNanos.Add(int64(t2.Sub(t1)))
				mine = append(mine, t2.Sub(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("crypto ceiling: %w", e.(error))
	}
	n := len(all)
	if n == 0 {
		return fmt.Errorf("crypto ceiling: no notice sealed in %v", b.cfg.cryptoDur)
	}
	b.cryptoOps = float64(n) / elapsed.Seconds()
	return b.emit(newResult(scCrypto, b.cryptoOps, newLatencies(all)).
		add("notices", n).add("workers", workers).
		add("seal_sign_ms", round(float64(sealNanos.Load())/float64(n)/1e6, 3)).
		add("verify3_ms", round(float64(verNanos.Load())/float64(n)/1e6, 3)).
		add("body_bytes", b.notice.bodySize).add("envelope_bytes", b.notice.envelopeSize))
}
