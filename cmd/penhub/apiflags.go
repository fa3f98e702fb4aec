package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/penhub/penhub/node/client"
)

// This file holds what the API client commands (post, inbox, show, respond,
// subscribe, authority) share: the connection flags of SPEC §3, interspersed
// flag parsing and usage errors.

// apiFlagsUsage documents the flags of apiFlags, for the commands' usage texts.
const apiFlagsUsage = `connection (every API command):
  --node URL         node API base URL (default $PENHUB_NODE)
  --token TOKEN      API token (default $PENHUB_TOKEN; prefer --token-file)
  --token-file FILE  read the token from FILE (keeps it out of the process list)
  --ca FILE          PEM CA certificate for an https node (default $PENHUB_CA)
  --timeout DUR      per-request timeout (default 30s)
`

// apiFlags are the connection flags of SPEC §3.
type apiFlags struct {
	node, token, tokenFile, ca string
	timeout                    time.Duration
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.node, "node", "", "")
	fs.StringVar(&f.token, "token", "", "")
	fs.StringVar(&f.tokenFile, "token-file", "", "")
	fs.StringVar(&f.ca, "ca", "", "")
	fs.DurationVar(&f.timeout, "timeout", client.DefaultTimeout, "")
}

// errUsage marks errors that are the user's wrong usage (exit 2).
var errUsage = errors.New("wrong usage")

// newClient builds the API client from the flags and the environment.
// Errors wrapping errUsage mean the command was called wrongly.
func (f *apiFlags) newClient() (*client.Client, error) {
	node := f.node
	if node == "" {
		node = os.Getenv("PENHUB_NODE")
	}
	if node == "" {
		return nil, fmt.Errorf("%w: no node: give --node URL or set PENHUB_NODE", errUsage)
	}
	if !strings.HasPrefix(node, "http://") && !strings.HasPrefix(node, "https://") {
		return nil, fmt.Errorf("%w: node %q: want http://host:port or https://host:port", errUsage, node)
	}
	token := f.token
	switch {
	case token != "" && f.tokenFile != "":
		return nil, fmt.Errorf("%w: give --token or --token-file, not both", errUsage)
	case f.tokenFile != "":
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if i := strings.IndexAny(token, "\r\n"); i >= 0 {
			token = token[:i]
		}
		if token == "" {
			return nil, fmt.Errorf("reading token file %s: it is empty", f.tokenFile)
		}
	case token == "":
		token = os.Getenv("PENHUB_TOKEN")
	}
	if token == "" {
		return nil, fmt.Errorf("%w: no token: give --token-file FILE, --token or set PENHUB_TOKEN", errUsage)
	}
	opts := []client.Option{client.WithTimeout(f.timeout), client.WithUserAgent("penhub-cli/1")}
	ca := f.ca
	if ca == "" {
		ca = os.Getenv("PENHUB_CA")
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading CA file %s: no PEM certificate in it", ca)
		}
		opts = append(opts, client.WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	return client.New(node, token, opts...), nil
}

// parseArgs parses flags anywhere among the arguments ("show ID --json" as
// well as "show --json ID"); everything after "--" is positional. help is
// true for -h/--help. Flag errors are returned as they are.
func parseArgs(fs *flag.FlagSet, args []string) (positional []string, help bool, err error) {
	fs.SetOutput(io.Discard)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, nil
			}
			return nil, false, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, false, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), false, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError prints "penhub: <cmd>: <msg>" and a hint, and returns 2.
func usageError(stderr io.Writer, cmd string, format string, args ...any) int {
	fmt.Fprintf(stderr, "penhub: %s: %s (see penhub %s -h)\n", cmd, fmt.Sprintf(format, args...), cmd)
	return 2
}

// clientError reports err from building a client: exit 2 for wrong usage,
// 1 otherwise.
func clientError(stderr io.Writer, cmd string, err error) int {
	if errors.Is(err, errUsage) {
		return usageError(stderr, cmd, "%s", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
	}
	return fail(stderr, cmd, err)
}

// parseCommand parses args for cmd with the usage text; ok is false when the
// command must return code at once (help: 0, bad flags: 2).
func parseCommand(fs *flag.FlagSet, cmd, usage string, args []string, stdout, stderr io.Writer) (positional []string, code int, ok bool) {
	positional, help, err := parseArgs(fs, args)
	if help {
		fmt.Fprint(stdout, usage)
		return nil, 0, false
	}
	if err != nil {
		return nil, usageError(stderr, cmd, "%v", err), false
	}
	return positional, 0, true
}

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// shortTime formats t for tables (UTC, minutes); empty for the zero time.
func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// dash returns s, or "-" when s is empty (tables need a cell).
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
