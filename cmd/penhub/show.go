package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/penhub/penhub/node/client"
)

const showUsage = `usage: penhub show [--json] ID

Shows one notice, decrypted, with its responses, receipts and status. Opening a
notice addressed to the token's authority with a focal point token records a
read receipt.

  --json   print the notice as JSON instead
` + apiFlagsUsage

func init() {
	register("show", "show one notice with its responses and receipts", runShow)
}

// runShow implements `penhub show`.
func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	var af apiFlags
	af.register(fs)
	asJSON := fs.Bool("json", false, "")
	ids, code, ok := parseCommand(fs, "show", showUsage, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(ids) != 1 {
		return usageError(stderr, "show", "want exactly one notice ID, got %d", len(ids))
	}
	c, err := af.newClient()
	if err != nil {
		return clientError(stderr, "show", err)
	}
	n, err := c.Notice(ctx, ids[0])
	if err != nil {
		return fail(stderr, "show", err)
	}
	if *asJSON {
		err = printJSON(stdout, n)
	} else {
		err = printNotice(stdout, n)
	}
	if err != nil {
		return fail(stderr, "show", err)
	}
	return 0
}

// printNotice writes the human-readable form of a notice.
func printNotice(w io.Writer, n *client.NoticeView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "notice\t%s\n", dash(n.Reference))
	fmt.Fprintf(tw, "id\t%s (log index %d)\n", n.ID, n.Index)
	fmt.Fprintf(tw, "type\t%s\n", n.Type)
	fmt.Fprintf(tw, "handling\t%s\n", dash(n.Handling))
	fmt.Fprintf(tw, "from\t%s\n", n.Sender)
	fmt.Fprintf(tw, "to\t%s\n", dash(strings.Join(n.Recipients, ", ")))
	fmt.Fprintf(tw, "created\t%s UTC\n", shortTime(n.CreatedAt))
	fmt.Fprintf(tw, "status\t%s\n", n.Status)
	if n.Deadline != "" {
		fmt.Fprintf(tw, "deadline\t%s (23:59:59 UTC)\n", n.Deadline)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(n.Flags) > 0 {
		fmt.Fprintln(w, "\nWARNING: this body fails validation on the reading node (the sender's node may have skipped it):")
		for _, f := range n.Flags {
			fmt.Fprintf(w, "  %s\n", f.Error())
		}
	}
	fmt.Fprintln(w, "\nbody:")
	var body bytes.Buffer
	if err := json.Indent(&body, n.Body, "  ", "  "); err != nil {
		body.Reset()
		body.Write(n.Body)
	}
	fmt.Fprintf(w, "  %s\n", body.String())

	fmt.Fprintln(w, "\nresponses:")
	if len(n.Responses) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  INDEX\tCREATED (UTC)\tAUTHORITY\tDECISION\tQUANTITY\tREASON")
		for _, r := range n.Responses {
			q := "-"
			if r.Quantity != nil {
				q = strings.TrimSpace(strconv.FormatFloat(*r.Quantity, 'f', -1, 64) + " " + r.Unit)
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", r.Index, shortTime(r.CreatedAt), r.Author, r.Decision, q, dash(oneLine(r.Reason)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nreceipts:")
	if len(n.Receipts) == 0 {
		fmt.Fprintln(w, "  none")
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  AUTHORITY\tREAD AT (UTC)")
	for _, r := range n.Receipts {
		fmt.Fprintf(tw, "  %s\t%s\n", r.Authority, shortTime(r.ReadAt))
	}
	return tw.Flush()
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
