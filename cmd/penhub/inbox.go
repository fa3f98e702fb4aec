package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/penhub/penhub/node/client"
)

const inboxUsage = `usage: penhub inbox [--type T] [--status S] [--limit N] [--json]

Lists the notices addressed to or sent by the token's authority, newest first.

  --type T     only notices of this type (pre_export, incident, suspicious_transaction, alert)
  --status S   only notices in this status (pending, acknowledged, objection, ...)
  --limit N    at most N notices (default 50; 0: all)
  --json       print a JSON array of notices (with bodies) instead of a table
` + apiFlagsUsage

func init() {
	register("inbox", "list the notices of the token's authority", runInbox)
}

// runInbox implements `penhub inbox`.
func runInbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inbox", flag.ContinueOnError)
	var af apiFlags
	af.register(fs)
	typ := fs.String("type", "", "")
	status := fs.String("status", "", "")
	limit := fs.Int("limit", 50, "")
	asJSON := fs.Bool("json", false, "")
	rest, code, ok := parseCommand(fs, "inbox", inboxUsage, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(stderr, "inbox", "unexpected argument %q", rest[0])
	}
	if *limit < 0 {
		return usageError(stderr, "inbox", "--limit must be 0 or more")
	}
	c, err := af.newClient()
	if err != nil {
		return clientError(stderr, "inbox", err)
	}
	notices := []client.NoticeView{}
	opts := client.ListOptions{Type: *typ, Status: *status, Limit: 500}
	for {
		if *limit > 0 {
			opts.Limit = min(500, *limit-len(notices))
		}
		page, err := c.ListNotices(ctx, opts)
		if err != nil {
			return fail(stderr, "inbox", err)
		}
		notices = append(notices, page.Notices...)
		if page.NextCursor == "" || (*limit > 0 && len(notices) >= *limit) {
			break
		}
		opts.Cursor = page.NextCursor
	}
	if *limit > 0 && len(notices) > *limit {
		notices = notices[:*limit]
	}
	if *asJSON {
		if err := printJSON(stdout, notices); err != nil {
			return fail(stderr, "inbox", err)
		}
		return 0
	}
	if len(notices) == 0 {
		fmt.Fprintln(stdout, "no notices")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REFERENCE\tTYPE\tFROM\tTO\tSTATUS\tDEADLINE\tCREATED (UTC)\tID")
	for _, n := range notices {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(n.Reference), n.Type, n.Sender,
			recipientList(n.Recipients, 3), n.Status, dash(n.Deadline), shortTime(n.CreatedAt), n.ID)
	}
	if err := tw.Flush(); err != nil {
		return fail(stderr, "inbox", err)
	}
	return 0
}

// recipientList joins up to max recipients and says how many more there are.
func recipientList(rs []string, max int) string {
	if len(rs) <= max {
		return dash(strings.Join(rs, ","))
	}
	return fmt.Sprintf("%s +%d", strings.Join(rs[:max], ","), len(rs)-max)
}
