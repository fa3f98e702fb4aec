package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Keyring file layout (changing it breaks existing data directories):
//
//	<dir>/<authority>/<sign key id hex>.key   identity file (0600), one per key generation
//	<dir>/<authority>/current                 sign key id hex of the current identity, "\n"
//
// Directories are created 0700.
const (
	keyringCurrentFile = "current"
	keyringKeySuffix   = ".key"
)

// Keyring is a directory of identity files, per authority (or node): the
// current identity and the retired ones, kept so that old notices can still
// be opened, until [Keyring.Forget] destroys them. All writes are fsynced
// before the method returns. A Keyring is safe for concurrent use by one
// process; two processes must not write the same keyring at once.
type Keyring struct {
	dir string

	mu      sync.RWMutex
	ids     map[string][]*Identity // authority → identities, in file-name order
	current map[string]KeyID       // authority → sign key id
}

// OpenKeyring loads every identity under dir, creating dir (0700) if it
// does not exist. A file that does not parse, whose id differs from its
// directory, or whose name differs from its key id fails the whole open:
// a keyring is never half-loaded.
func OpenKeyring(dir string) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening keyring: %w", err)
	}
	r := &Keyring{dir: dir, ids: map[string][]*Identity{}, current: map[string]KeyID{}}
	auths, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("opening keyring: %w", err)
	}
	for _, a := range auths {
		if !a.IsDir() || strings.HasPrefix(a.Name(), ".") {
			continue
		}
		name := a.Name()
		files, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("opening keyring: %w", err)
		}
		for _, f := range files {
			fn := f.Name()
			if f.IsDir() || !strings.HasSuffix(fn, keyringKeySuffix) || strings.HasPrefix(fn, ".") {
				continue
			}
			path := filepath.Join(dir, name, fn)
			id, err := ReadIdentityFile(path)
			if err != nil {
				return nil, fmt.Errorf("opening keyring: %w", err)
			}
			if id.ID != name || id.Sign.ID().String()+keyringKeySuffix != fn {
				return nil, fmt.Errorf("opening keyring: %q holds keys of %q (%s): %w", path, id.ID, id.Sign.ID(), ErrKeyMismatch)
			}
			r.ids[name] = append(r.ids[name], id)
		}
		cur, err := os.ReadFile(filepath.Join(dir, name, keyringCurrentFile))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("opening keyring: %w", err)
		}
		kid, err := ParseKeyID(strings.TrimSpace(string(cur)))
		if err != nil {
			return nil, fmt.Errorf("opening keyring: current key of %q: %w", name, err)
		}
		if r.find(name, func(id *Identity) bool { return id.Sign.ID() == kid }) == nil {
			return nil, fmt.Errorf("opening keyring: current key %s of %q: %w", kid, name, ErrUnknownKey)
		}
		r.current[name] = kid
	}
	return r, nil
}

// Dir returns the keyring's directory.
func (r *Keyring) Dir() string { return r.dir }

func (r *Keyring) find(authority string, match func(*Identity) bool) *Identity {
	for _, id := range r.ids[authority] {
		if match(id) {
			return id
		}
	}
	return nil
}

// Add stores id's private keys (fsynced before return). The first identity
// of an authority becomes its current one; later ones are added as
// not-yet-current (rotation: add, propose the rotation, then
// [Keyring.SetCurrent] once it commits). Adding an identical identity again
// is a no-op; a different identity with the same signing key id fails with
// [ErrKeyMismatch].
func (r *Keyring) Add(id *Identity) error {
	if id == nil || id.Sign == nil || !validName(id.ID) {
		return fmt.Errorf("adding to keyring: %w: identity", ErrMalformed)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	kid := id.Sign.ID()
	if old := r.find(id.ID, func(o *Identity) bool { return o.Sign.ID() == kid }); old != nil {
		if old.Equal(id) {
			return nil
		}
		return fmt.Errorf("adding key %s of %q to keyring: %w", kid, id.ID, ErrKeyMismatch)
	}
	adir := filepath.Join(r.dir, id.ID)
	if err := os.MkdirAll(adir, 0o700); err != nil {
		return fmt.Errorf("adding to keyring: %w", err)
	}
	if err := syncDir(r.dir); err != nil {
		return fmt.Errorf("adding to keyring: %w", err)
	}
	path := filepath.Join(adir, kid.String()+keyringKeySuffix)
	if err := WriteIdentityFile(path, id); err != nil {
		return fmt.Errorf("adding to keyring: %w", err)
	}
	r.ids[id.ID] = append(r.ids[id.ID], id)
	if _, ok := r.current[id.ID]; !ok {
		if err := r.setCurrentLocked(id.ID, kid); err != nil {
			return err
		}
	}
	return nil
}

func (r *Keyring) setCurrentLocked(authority string, kid KeyID) error {
	data := []byte(kid.String() + "\n")
	if err := writeFileAtomic(filepath.Join(r.dir, authority, keyringCurrentFile), data, 0o600); err != nil {
		return fmt.Errorf("setting current key of %q: %w", authority, err)
	}
	r.current[authority] = kid
	return nil
}

// Current returns the authority's current identity.
func (r *Keyring) Current(authority string) (*Identity, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	kid, ok := r.current[authority]
	if !ok {
		return nil, false
	}
	id := r.find(authority, func(o *Identity) bool { return o.Sign.ID() == kid })
	return id, id != nil
}

// Identities returns every identity of the authority, current and retired
// (the current one first).
func (r *Keyring) Identities(authority string) []*Identity {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := slices.Clone(r.ids[authority])
	kid, ok := r.current[authority]
	if ok {
		slices.SortStableFunc(out, func(a, b *Identity) int {
			switch {
			case a.Sign.ID() == kid:
				return -1
			case b.Sign.ID() == kid:
				return 1
			}
			return 0
		})
	}
	return out
}

// KEMKeyByID returns the authority's KEM private key with this id, current
// or retired (the key a stanza's kem_key_id names).
func (r *Keyring) KEMKeyByID(authority string, id KeyID) (*KEMKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ident := r.find(authority, func(o *Identity) bool { return o.KEM != nil && o.KEM.ID() == id })
	if ident == nil {
		return nil, false
	}
	return ident.KEM, true
}

// SigningKeyByID returns the authority's signing key with this id, current
// or retired.
func (r *Keyring) SigningKeyByID(authority string, id KeyID) (*SigningKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ident := r.find(authority, func(o *Identity) bool { return o.Sign.ID() == id })
	if ident == nil {
		return nil, false
	}
	return ident.Sign, true
}

// SetCurrent makes the identity whose signing key has this id the
// authority's current one (fsynced). It fails with [ErrUnknownKey] if the
// keyring does not hold it.
func (r *Keyring) SetCurrent(authority string, signKeyID KeyID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.find(authority, func(o *Identity) bool { return o.Sign.ID() == signKeyID }) == nil {
		return fmt.Errorf("setting current key of %q: %s: %w", authority, signKeyID, ErrUnknownKey)
	}
	return r.setCurrentLocked(authority, signKeyID)
}

// Forget destroys the retired identity holding the KEM key with this id:
// its file is overwritten with zeros, fsynced and removed, and the keys are
// dropped from memory. Notices sealed to that key can no longer be opened
// here (crypto-shredding; copies elsewhere, e.g. backups, are the operator's
// business). The current identity cannot be forgotten ([ErrCurrentKey]);
// an unknown key fails with [ErrUnknownKey].
func (r *Keyring) Forget(authority string, kemKeyID KeyID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ident := r.find(authority, func(o *Identity) bool { return o.KEM != nil && o.KEM.ID() == kemKeyID })
	if ident == nil {
		return fmt.Errorf("forgetting kem key %s of %q: %w", kemKeyID, authority, ErrUnknownKey)
	}
	if r.current[authority] == ident.Sign.ID() {
		return fmt.Errorf("forgetting kem key %s of %q: %w", kemKeyID, authority, ErrCurrentKey)
	}
	path := filepath.Join(r.dir, authority, ident.Sign.ID().String()+keyringKeySuffix)
	if err := shred(path); err != nil {
		return fmt.Errorf("forgetting kem key %s of %q: %w", kemKeyID, authority, err)
	}
	r.ids[authority] = slices.DeleteFunc(r.ids[authority], func(o *Identity) bool { return o == ident })
	return nil
}

// shred overwrites path with zeros, fsyncs, removes it and fsyncs its
// directory. On journaling or copy-on-write file systems the old blocks may
// survive; the overwrite is best effort, the removal is not.
func shred(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil {
		_, err = f.WriteAt(bytes.Repeat([]byte{0}, int(st.Size())), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// Authorities returns the ids that have at least one identity, sorted.
func (r *Keyring) Authorities() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.ids))
	for a, ids := range r.ids {
		if len(ids) > 0 {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}
