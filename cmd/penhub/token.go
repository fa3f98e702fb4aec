package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/penhub/penhub/node"
	"github.com/penhub/penhub/node/tokens"
)

const tokenUsage = `usage: penhub token create --data-dir D --authority A --role R --label "who" [--expires DUR] [--json]
       penhub token list   --data-dir D [--json]
       penhub token revoke --data-dir D ID

Manages the API tokens of one node, in its data directory (tokens.json: hashes
only, node-local, never replicated). Works while the node runs: it picks
changes up within a second.

create prints the new token on stdout, once; it cannot be shown again.
  --authority A   the authority the token acts for (none for --role admin)
  --role R        focal_point, partner, auditor or admin
  --label TEXT    who holds it ("Jane Doe, BfArM")
  --expires DUR   lifetime: 720h, 90d, ... (default: no expiry)
list shows every token with its state; revoke ID withdraws a token at once.
`

func init() {
	register("token", "create, list or revoke a node's API tokens", runToken)
}

// runToken implements `penhub token`.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "token", "want a subcommand: create, list or revoke")
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprint(stdout, tokenUsage)
		return 0
	}
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "")
	authority := fs.String("authority", "", "")
	role := fs.String("role", "", "")
	label := fs.String("label", "", "")
	expires := fs.String("expires", "", "")
	idFlag := fs.String("id", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, code, ok := parseCommand(fs, "token", tokenUsage, args[1:], stdout, stderr)
	if !ok {
		return code
	}
	if *dataDir == "" {
		return usageError(stderr, "token", "--data-dir is required")
	}
	open := func() (*tokens.Store, error) {
		if st, err := os.Stat(*dataDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("opening data dir: %s is not a directory", *dataDir)
		}
		return tokens.Open(filepath.Join(*dataDir, node.TokensFile))
	}
	switch sub {
	case "create":
		if len(rest) > 0 {
			return usageError(stderr, "token", "unexpected argument %q", rest[0])
		}
		if *role == "" || *label == "" {
			return usageError(stderr, "token", "create needs --role and --label (and --authority unless --role admin)")
		}
		r, err := tokens.ParseRole(*role)
		if err != nil {
			return usageError(stderr, "token", "%v", err)
		}
		ttl, err := parseLifetime(*expires)
		if err != nil {
			return usageError(stderr, "token", "--expires %q: %v", *expires, err)
		}
		s, err := open()
		if err != nil {
			return fail(stderr, "token create", err)
		}
		secret, tok, err := s.Create(*authority, r, *label, ttl)
		if errors.Is(err, tokens.ErrInvalid) {
			return usageError(stderr, "token", "%v", err)
		}
		if err != nil {
			return fail(stderr, "token create", err)
		}
		if *asJSON {
			v := tokenJSON(tok)
			v.Token = secret
			if err := printJSON(stdout, v); err != nil {
				return fail(stderr, "token create", err)
			}
			return 0
		}
		fmt.Fprintln(stdout, secret)
		who := tok.Authority
		if who == "" {
			who = "this node"
		}
		fmt.Fprintf(stderr, "token %s: %s of %s (%s), expires %s. It is shown only this once.\n", tok.ID, tok.Role, who, tok.Label, expiry(tok))
		return 0
	case "list":
		if len(rest) > 0 {
			return usageError(stderr, "token", "unexpected argument %q", rest[0])
		}
		s, err := open()
		if err != nil {
			return fail(stderr, "token list", err)
		}
		list := s.List()
		if *asJSON {
			out := make([]tokenView, len(list))
			for i, t := range list {
				out[i] = tokenJSON(t)
			}
			if err := printJSON(stdout, out); err != nil {
				return fail(stderr, "token list", err)
			}
			return 0
		}
		now := time.Now()
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAUTHORITY\tROLE\tSTATE\tCREATED (UTC)\tEXPIRES (UTC)\tLABEL")
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, dash(t.Authority), t.Role, t.State(now), shortTime(t.Created), expiry(t), t.Label)
		}
		if err := tw.Flush(); err != nil {
			return fail(stderr, "token list", err)
		}
		return 0
	case "revoke":
		id := *idFlag
		switch {
		case id == "" && len(rest) == 1:
			id = rest[0]
		case id == "" || len(rest) > 0:
			return usageError(stderr, "token", "revoke needs exactly one token ID")
		}
		s, err := open()
		if err != nil {
			return fail(stderr, "token revoke", err)
		}
		if err := s.Revoke(id); err != nil {
			return fail(stderr, "token revoke", err)
		}
		fmt.Fprintf(stdout, "token %s revoked\n", id)
		return 0
	}
	return usageError(stderr, "token", "unknown subcommand %q: want create, list or revoke", sub)
}

// tokenView is a token as `token list --json` shows it (no hash).
type tokenView struct {
	ID        string     `json:"id"`
	Authority string     `json:"authority"`
	Role      string     `json:"role"`
	Label     string     `json:"label"`
	Created   time.Time  `json:"created"`
	Expires   *time.Time `json:"expires"`
	Revoked   bool       `json:"revoked"`
	State     string     `json:"state"`
	Token     string     `json:"token,omitempty"` // create only
}

func tokenJSON(t tokens.Token) tokenView {
	return tokenView{ID: t.ID, Authority: t.Authority, Role: string(t.Role), Label: t.Label,
		Created: t.Created, Expires: t.Expires, Revoked: t.Revoked, State: t.State(time.Now())}
}

func expiry(t tokens.Token) string {
	if t.Expires == nil {
		return "never"
	}
	return shortTime(*t.Expires)
}

// parseLifetime reads a Go duration ("720h") or a number of days ("90d");
// empty, "0" and "never" mean no expiry.
func parseLifetime(s string) (time.Duration, error) {
	switch s {
	case "", "0", "never":
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, errors.New("want a positive number of days or a duration such as 720h")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration such as 720h, or days such as 90d")
	}
	return d, nil
}
