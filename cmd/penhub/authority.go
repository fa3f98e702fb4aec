package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/node"
	"github.com/penhub/penhub/node/client"
	"github.com/penhub/penhub/schema"
)

const authorityUsage = `usage: penhub authority add --id A --node N --keys FILE [--json]
       penhub authority rotate --id A [--reason TEXT] [--json]
       penhub authority revoke --id A --reason TEXT [--json]
       penhub authority cosign --proposal ID [--json]
       penhub authority forget-key --data-dir D --id A --key KEMKEYID

add         with a secretariat focal point token: admit authority A, homed on node N
            (a node id: the API URL then comes from --api URL or $PENHUB_NODE), with the
            self-signed public keys in FILE (from penhub keygen). Compare the fingerprint
            printed here with A's out of band first.
rotate      with a focal point token of A or an admin token of A's home node: new keys,
            signed by the old and the new ones; the old stay to open old notices.
revoke      with a secretariat focal point token: A can no longer send or be addressed.
cosign      on a hub whose genesis admits by k of n countries: with a focal point token of
            an authority of the quorum, sign the open admission proposal ID (listed as
            pending_admissions by GET /v1/directory); k countries admit the authority.
forget-key  on a node's data dir, offline: destroy A's retired private keys whose KEM
            key id is KEMKEYID (hex, as in the directory). Notices sealed to that key can
            no longer be opened on this node. The current key cannot be forgotten.
            Restart the node afterwards if it is running, so that it drops the key too.
` + apiFlagsUsage + `  --api URL          node API base URL (an alternative to --node, needed by add)
`

func init() {
	register("authority", "admit, rotate, revoke an authority; forget an old key", runAuthority)
}

// runAuthority implements `penhub authority`.
func runAuthority(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "authority", "want a subcommand: add, rotate, revoke, cosign or forget-key")
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprint(stdout, authorityUsage)
		return 0
	}
	fs := flag.NewFlagSet("authority "+sub, flag.ContinueOnError)
	var af apiFlags
	af.register(fs)
	id := fs.String("id", "", "")
	api := fs.String("api", "", "")
	keys := fs.String("keys", "", "")
	reason := fs.String("reason", "", "")
	dataDir := fs.String("data-dir", "", "")
	key := fs.String("key", "", "")
	proposal := fs.String("proposal", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, code, ok := parseCommand(fs, "authority", authorityUsage, args[1:], stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(stderr, "authority", "unexpected argument %q", rest[0])
	}
	if *id == "" {
		return usageError(stderr, "authority", "--id is required")
	}
	if !schema.ValidAuthorityID(*id) {
		return usageError(stderr, "authority", "%q is not an authority id (DE, NL-CUSTOMS, INT-INCB)", *id)
	}
	if sub == "forget-key" {
		return forgetKey(*dataDir, *id, *key, stdout, stderr)
	}
	var (
		res *client.DirectoryResult
		err error
		fp  string
	)
	switch sub {
	case "add":
		// --node names the authority's home node here (SPEC §3), so the API
		// base URL comes from --api or PENHUB_NODE.
		home := af.node
		af.node = *api
		if home == "" || *keys == "" {
			return usageError(stderr, "authority", "add needs --id, --node (the home node id) and --keys FILE")
		}
		if strings.Contains(home, "://") {
			return usageError(stderr, "authority", "--node %q: for add, --node is the home node id (node3); give the API URL with --api or PENHUB_NODE", home)
		}
		pubFile, rerr := os.ReadFile(*keys)
		if rerr != nil {
			return fail(stderr, "authority add", fmt.Errorf("reading public keys: %w", rerr))
		}
		pk, perr := crypto.ParsePublicFile(pubFile)
		if perr != nil {
			return fail(stderr, "authority add", fmt.Errorf("checking %s: %w", *keys, perr))
		}
		if pk.ID != *id {
			return fail(stderr, "authority add", fmt.Errorf("%s holds the keys of %q, not %q", *keys, pk.ID, *id))
		}
		fp = pk.Fingerprint()
		c, cerr := af.newClient()
		if cerr != nil {
			return clientError(stderr, "authority", cerr)
		}
		res, err = c.AdmitAuthority(ctx, *id, home, pubFile)
	case "rotate", "revoke":
		if *api != "" {
			af.node = *api
		}
		if sub == "revoke" && *reason == "" {
			return usageError(stderr, "authority", "revoke needs --reason TEXT")
		}
		c, cerr := af.newClient()
		if cerr != nil {
			return clientError(stderr, "authority", cerr)
		}
		if sub == "rotate" {
			res, err = c.RotateAuthority(ctx, *id, *reason)
		} else {
			res, err = c.RevokeAuthority(ctx, *id, *reason)
		}
	case "cosign":
		if *api != "" {
			af.node = *api
		}
		if *proposal == "" {
			return usageError(stderr, "authority", "cosign needs --proposal ID")
		}
		c, cerr := af.newClient()
		if cerr != nil {
			return clientError(stderr, "authority", cerr)
		}
		res, err = c.CosignAdmission(ctx, *proposal)
	default:
		return usageError(stderr, "authority", "unknown subcommand %q: want add, rotate, revoke, cosign or forget-key", sub)
	}
	if err != nil {
		return fail(stderr, "authority "+sub, err)
	}
	if *asJSON {
		if err := printJSON(stdout, res); err != nil {
			return fail(stderr, "authority "+sub, err)
		}
		return 0
	}
	switch sub {
	case "add":
		if res.Pending {
			fmt.Fprintf(stdout, "proposed the admission of %s (fingerprint %s) at log index %d: %d of %d countries have signed; proposal %s\n", *id, fp, res.Index, res.Signatures, res.Needed, res.ID)
		} else {
			fmt.Fprintf(stdout, "admitted %s (fingerprint %s) at log index %d\n", *id, fp, res.Index)
		}
	case "cosign":
		if res.Pending {
			fmt.Fprintf(stdout, "signed proposal %s at log index %d: %d of %d countries\n", *proposal, res.Index, res.Signatures, res.Needed)
		} else {
			fmt.Fprintf(stdout, "signed proposal %s at log index %d: the authority is admitted\n", *proposal, res.Index)
		}
	case "rotate":
		fmt.Fprintf(stdout, "rotated the keys of %s at log index %d\n", *id, res.Index)
	case "revoke":
		fmt.Fprintf(stdout, "revoked %s at log index %d\n", *id, res.Index)
	}
	return 0
}

// forgetKey destroys a retired private key in a data dir's keyring.
func forgetKey(dataDir, id, key string, stdout, stderr io.Writer) int {
	if dataDir == "" || key == "" {
		return usageError(stderr, "authority", "forget-key needs --data-dir, --id and --key")
	}
	kid, err := crypto.ParseKeyID(key)
	if err != nil {
		return usageError(stderr, "authority", "--key %q is not a key id (32 hex digits)", key)
	}
	dir := filepath.Join(dataDir, node.KeyringDir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fail(stderr, "authority forget-key", fmt.Errorf("%s has no keyring (%s)", dataDir, dir))
	}
	ring, err := crypto.OpenKeyring(dir)
	if err != nil {
		return fail(stderr, "authority forget-key", err)
	}
	if err := ring.Forget(id, kid); err != nil {
		switch {
		case errors.Is(err, crypto.ErrCurrentKey):
			err = fmt.Errorf("%w: it is the current key of %s; rotate first", err, id)
		case errors.Is(err, crypto.ErrUnknownKey):
			err = fmt.Errorf("%w: the keyring in %s holds no KEM key %s of %s", err, dir, kid, id)
		}
		return fail(stderr, "authority forget-key", err)
	}
	fmt.Fprintf(stdout, "destroyed the private keys of %s with KEM key %s; notices sealed to it can no longer be opened here\n", id, kid)
	return 0
}
