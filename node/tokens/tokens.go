// Package tokens is the node-local store of API bearer tokens.
//
// Tokens are never replicated: each node keeps its own file
// <data dir>/tokens.json ([FileName]). A token's secret is shown once, when it
// is created, and only its SHA-256 is stored, so the file reveals no usable
// token. Both the running node and `penhub token` (a separate process) open the
// same file: writers take an exclusive flock on <file>.lock, re-read the file
// under it and replace it atomically (temp file, fsync, rename, fsync of the
// directory), and every [Store] notices a newer file by a cheap stat at most
// once per 500 ms, so a token created or revoked by the CLI takes effect in the
// running node within a second.
//
// # Usage
//
//  1. s, err := tokens.Open(filepath.Join(dataDir, tokens.FileName))
//  2. secret, tok, err := s.Create("DE", tokens.RoleFocalPoint, "Jane at BfArM", 0)
//     (print secret once; tok.ID names the token from now on)
//  3. On every request: tok, err := s.Authenticate(secret, time.Now()); the
//     errors are [ErrUnknown], [ErrExpired] and [ErrRevoked].
//  4. s.Revoke(tok.ID) withdraws it; s.List() shows every token (hashes only).
//
// # File format (version 1)
//
//	{"version":1,"tokens":[{"id":"4f1c2a9be07d","authority":"DE","role":"focal_point",
//	  "label":"...","created":"RFC3339","expires":"RFC3339"|null,"revoked":false,
//	  "hash":"<hex SHA-256 of the whole secret string>"}]}
//
// A file with another version, unknown fields or invalid tokens is refused
// ([ErrCorrupt]); the store never overwrites a file it could not read.
//
// Dependencies: the standard library only.
package tokens

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// FileName is the token file's name inside a node's data directory.
// Changing it breaks compatibility with existing data directories.
const FileName = "tokens.json"

// SecretPrefix starts every token secret, so that a leaked token is easy to
// recognise (and to grep for) and a string that lacks it is rejected at once.
const SecretPrefix = "phk_"

// fileVersion is the version written to and required of the token file.
const fileVersion = 1

// reloadEvery bounds how often Authenticate stats the file.
const reloadEvery = 500 * time.Millisecond

// Sentinel errors.
var (
	// ErrUnknown: the secret names no token of this store (or is malformed).
	ErrUnknown = errors.New("unknown token")
	// ErrExpired: the token's expiry time has passed.
	ErrExpired = errors.New("token expired")
	// ErrRevoked: the token was revoked.
	ErrRevoked = errors.New("token revoked")
	// ErrNotFound: no token has this id (Revoke).
	ErrNotFound = errors.New("no such token")
	// ErrInvalid: Create was given a bad role, authority, label or ttl.
	ErrInvalid = errors.New("invalid token request")
	// ErrCorrupt: the token file exists but is not a valid version-1 token
	// file. The store refuses to write over it.
	ErrCorrupt = errors.New("corrupt token file")
)

// Role is what a token may do on the API (SPEC §4).
type Role string

// The roles. Admin tokens belong to the node and have no authority; every
// other role acts for exactly one authority.
const (
	RoleFocalPoint Role = "focal_point"
	RolePartner    Role = "partner"
	RoleAuditor    Role = "auditor"
	RoleAdmin      Role = "admin"
)

// Roles lists every role, in the order of SPEC §3.1.
var Roles = []Role{RoleFocalPoint, RolePartner, RoleAuditor, RoleAdmin}

// ParseRole returns the role named s, or an error wrapping [ErrInvalid].
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("parsing role %q (want focal_point, partner, auditor or admin): %w", s, ErrInvalid)
	}
	return r, nil
}

// Token is one stored token. It never holds the secret, only its hash.
type Token struct {
	// ID is a short public name of the token (12 hex digits), used to list
	// and revoke it. It reveals nothing about the secret.
	ID string `json:"id"`
	// Authority the token acts for; empty for admin tokens.
	Authority string `json:"authority"`
	// Role is what the token may do.
	Role Role `json:"role"`
	// Label says who holds the token ("Jane Doe, BfArM").
	Label string `json:"label"`
	// Created is when the token was made (UTC, whole seconds).
	Created time.Time `json:"created"`
	// Expires is when the token stops working; nil means never.
	Expires *time.Time `json:"expires"`
	// Revoked tokens never authenticate again.
	Revoked bool `json:"revoked"`
	// Hash is the lowercase hex SHA-256 of the secret string.
	Hash string `json:"hash"`
}

// State returns "active", "expired" or "revoked" as of now.
func (t Token) State(now time.Time) string {
	switch {
	case t.Revoked:
		return "revoked"
	case t.Expires != nil && !now.Before(*t.Expires):
		return "expired"
	}
	return "active"
}

// file is the JSON document on disk.
type file struct {
	Version int     `json:"version"`
	Tokens  []Token `json:"tokens"`
}

// Store is the token file of one node. It is safe for concurrent use by many
// goroutines, and by several processes through the file lock.
type Store struct {
	path string

	// reloadEvery is how often Authenticate may stat the file; tests lower it.
	reloadEvery time.Duration

	mu         sync.RWMutex
	tokens     []Token      // as last read from or written to the file
	hashes     [][]byte     // decoded Token.Hash, same order as tokens
	stat       fs.FileInfo  // of the file the tokens came from; nil if absent
	checkMu    sync.Mutex   // serialises reloads
	opened     time.Time    // monotonic base of lastCheck
	lastCheck  atomic.Int64 // when the file was last stat'ed, ns since opened
	nextForced atomic.Int64 // earliest time an unknown secret may force a check, ns since opened
}

// Open opens the token file at path. A missing file is an empty store (the
// file is created by the first Create); the directory must exist.
func Open(path string) (*Store, error) {
	s := &Store{path: path, reloadEvery: reloadEvery, opened: time.Now()}
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("opening token store: %w", err)
	}
	if err := s.reload(true); err != nil {
		return nil, err
	}
	return s, nil
}

// Path returns the token file's path.
func (s *Store) Path() string { return s.path }

// authorityRE is the authority id pattern of SPEC §1.
var authorityRE = regexp.MustCompile(`^(?:[A-Z]{2}(?:-[A-Z0-9]{1,16})?|INT-[A-Z0-9]{1,16})$`)

// maxLabel bounds a label's length in bytes.
const maxLabel = 200

// Create makes a token for authority with role and label, valid for ttl (0:
// no expiry), stores its hash and returns the secret, which cannot be
// recovered later. Admin tokens must have an empty authority, every other role
// a valid authority id; the label must be non-empty printable text of at most
// 200 bytes. Bad arguments wrap [ErrInvalid].
func (s *Store) Create(authority string, role Role, label string, ttl time.Duration) (secret string, tok Token, err error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", Token{}, err
	}
	switch {
	case role == RoleAdmin && authority != "":
		return "", Token{}, fmt.Errorf("creating token: admin tokens have no authority, got %q: %w", authority, ErrInvalid)
	case role != RoleAdmin && !authorityRE.MatchString(authority):
		return "", Token{}, fmt.Errorf("creating token: bad authority id %q: %w", authority, ErrInvalid)
	case !validLabel(label):
		return "", Token{}, fmt.Errorf("creating token: label must be 1-%d bytes of printable text, got %q: %w", maxLabel, label, ErrInvalid)
	case ttl < 0:
		return "", Token{}, fmt.Errorf("creating token: negative lifetime %v: %w", ttl, ErrInvalid)
	}

	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, fmt.Errorf("creating token: reading randomness: %w", err)
	}
	secret = SecretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	now := time.Now().UTC().Truncate(time.Second)
	tok = Token{
		Authority: authority,
		Role:      role,
		Label:     label,
		Created:   now,
		Hash:      hex.EncodeToString(sum[:]),
	}
	if ttl > 0 {
		exp := now.Add(ttl)
		tok.Expires = &exp
	}
	err = s.update(func(ts []Token) ([]Token, error) {
		for {
			id, err := newID()
			if err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(ts, func(t Token) bool { return t.ID == id }) {
				tok.ID = id
				break
			}
		}
		return append(ts, tok), nil
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("creating token: %w", err)
	}
	return secret, tok, nil
}

// Revoke marks the token with this id revoked; it never authenticates again.
// Revoking a revoked token is not an error. An unknown id wraps [ErrNotFound].
func (s *Store) Revoke(id string) error {
	err := s.update(func(ts []Token) ([]Token, error) {
		i := slices.IndexFunc(ts, func(t Token) bool { return t.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("%q: %w", id, ErrNotFound)
		}
		ts[i].Revoked = true
		return ts, nil
	})
	if err != nil {
		return fmt.Errorf("revoking token: %w", err)
	}
	return nil
}

// List returns every token (active, expired and revoked) in creation order,
// after re-reading the file if it changed. The slice is the caller's.
func (s *Store) List() []Token {
	_ = s.reload(true) // on error, the last good state is the best answer
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Token, len(s.tokens))
	copy(out, s.tokens)
	for i := range out {
		if out[i].Expires != nil {
			e := *out[i].Expires
			out[i].Expires = &e
		}
	}
	return out
}

// Authenticate returns the token whose secret this is, as of now. It fails
// with [ErrUnknown] (no such token, or not a token at all), [ErrRevoked] or
// [ErrExpired]. The secret's hash is compared in constant time with every
// stored hash, so timing reveals nothing about which tokens exist. It picks
// up changes made by other processes: it stats the file at most once per
// 500 ms and re-reads it when its identity, size or mtime changed.
//
// A secret that is not found triggers one more stat of the file (outside the
// 500 ms limit, at most once per 50 ms), so a token created a moment ago by
// `penhub token create` works at once.
func (s *Store) Authenticate(secret string, now time.Time) (Token, error) {
	s.maybeReload()
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > 256 {
		return Token{}, ErrUnknown
	}
	sum := sha256.Sum256([]byte(secret))
	tok, found := s.lookup(sum)
	if !found && s.forceCheckDue() {
		s.checkMu.Lock()
		s.markChecked()
		_ = s.reloadLocked(false)
		s.checkMu.Unlock()
		tok, found = s.lookup(sum)
	}
	switch {
	case !found:
		return Token{}, ErrUnknown
	case tok.Revoked:
		return Token{}, ErrRevoked
	case tok.Expires != nil && !now.Before(*tok.Expires):
		return Token{}, ErrExpired
	}
	return tok, nil
}

// forceCheckDue limits the re-checks unknown secrets trigger to one per
// 50 ms, so a flood of bad tokens costs at most 20 stats a second.
func (s *Store) forceCheckDue() bool {
	now := int64(time.Since(s.opened))
	next := s.nextForced.Load()
	return now >= next && s.nextForced.CompareAndSwap(next, now+int64(50*time.Millisecond))
}

// lookup finds the token with this secret hash, comparing in constant time
// with every stored hash.
func (s *Store) lookup(sum [32]byte) (Token, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	found := -1
	for i, h := range s.hashes {
		if subtle.ConstantTimeCompare(sum[:], h) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Token{}, false
	}
	return s.tokens[found], true
}

// maybeReload re-reads the file when it changed, at most once per reloadEvery.
// Errors keep the last good state: a node must not lock everyone out because
// an operator left a broken file behind.
func (s *Store) maybeReload() {
	if s.recentlyChecked() {
		return // the fast path: no lock, no syscall
	}
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if s.recentlyChecked() {
		return
	}
	s.markChecked()
	_ = s.reloadLocked(false)
}

func (s *Store) recentlyChecked() bool {
	return s.reloadEvery > 0 && time.Since(s.opened)-time.Duration(s.lastCheck.Load()) < s.reloadEvery
}

func (s *Store) markChecked() { s.lastCheck.Store(int64(time.Since(s.opened))) }

// reload re-reads the file (force: even if its stat looks unchanged).
func (s *Store) reload(force bool) error {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	s.markChecked()
	return s.reloadLocked(force)
}

// reloadLocked requires checkMu.
func (s *Store) reloadLocked(force bool) error {
	st, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.install(nil, nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading token file: %w", err)
	}
	s.mu.RLock()
	same := s.stat != nil && sameFile(s.stat, st)
	s.mu.RUnlock()
	if same && !force {
		return nil
	}
	ts, st, err := readFile(s.path)
	if err != nil {
		return err
	}
	s.install(ts, st)
	return nil
}

// sameFile reports whether a and b describe the same unchanged file.
func sameFile(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// install replaces the in-memory state. Hashes were checked by readFile.
func (s *Store) install(ts []Token, st fs.FileInfo) {
	hs := make([][]byte, len(ts))
	for i, t := range ts {
		hs[i], _ = hex.DecodeString(t.Hash)
	}
	s.mu.Lock()
	s.tokens, s.hashes, s.stat = ts, hs, st
	s.mu.Unlock()
}

// readFile reads and checks the token file. A missing file is empty.
func readFile(path string) ([]Token, fs.FileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading token file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("reading token file: %w", err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, nil, fmt.Errorf("reading token file: %w", err)
	}
	ts, err := parse(buf.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("reading token file %s: %w: %w", path, ErrCorrupt, err)
	}
	return ts, st, nil
}

// parse decodes and checks a token file strictly.
func parse(b []byte) ([]Token, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the document")
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, fileVersion)
	}
	ids := make(map[string]bool, len(f.Tokens))
	for i, t := range f.Tokens {
		h, err := hex.DecodeString(t.Hash)
		switch {
		case t.ID == "" || ids[t.ID]:
			return nil, fmt.Errorf("tokens[%d]: missing or duplicate id %q", i, t.ID)
		case err != nil || len(h) != sha256.Size:
			return nil, fmt.Errorf("tokens[%d]: hash is not hex SHA-256", i)
		case !slices.Contains(Roles, t.Role):
			return nil, fmt.Errorf("tokens[%d]: unknown role %q", i, t.Role)
		}
		ids[t.ID] = true
	}
	return f.Tokens, nil
}

// update applies fn to the current file contents under the cross-process lock
// and writes the result atomically. fn may modify and return its argument.
func (s *Store) update(fn func([]Token) ([]Token, error)) error {
	unlock, err := lockFile(s.path + ".lock")
	if err != nil {
		return fmt.Errorf("locking token file: %w", err)
	}
	defer unlock()
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	ts, _, err := readFile(s.path)
	if err != nil {
		return err
	}
	ts, err = fn(ts)
	if err != nil {
		return err
	}
	if err := writeFile(s.path, ts); err != nil {
		return err
	}
	st, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("writing token file: %w", err)
	}
	s.install(ts, st)
	s.markChecked()
	return nil
}

// writeFile replaces the file atomically: temp file in the same directory,
// fsync, rename over the old file, fsync of the directory. Mode 0600.
func writeFile(path string, ts []Token) error {
	if ts == nil {
		ts = []Token{}
	}
	b, err := json.MarshalIndent(file{Version: fileVersion, Tokens: ts}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding token file: %w", err)
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tokens-*.tmp")
	if err != nil {
		return fmt.Errorf("writing token file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing token file: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing token file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing token file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("writing token file: syncing directory: %w", err)
		}
	}
	return nil
}

// newID returns 12 random hex digits.
func newID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func validLabel(s string) bool {
	if s == "" || len(s) > maxLabel || !utf8.ValidString(s) || strings.TrimSpace(s) == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
