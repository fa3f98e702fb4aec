package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/google/uuid"

	"github.com/penhub/penhub/node/client"
)

const respondUsage = `usage: penhub respond ID --decision D [--reason TEXT] [--quantity Q --unit U] [--changes FILE] [--json]

Posts a response to notice ID (SPEC §5.2) and prints the notice's status after it.

  --decision D     acknowledged, no_objection, objection, request_info, info, amended, cancelled or shipped
  --reason TEXT    why (objection, request_info, cancelled...) or the information given (info)
  --quantity Q     shipped quantity (> 0), with --unit (kg, g, L, mL, units)
  --unit U         unit of --quantity
  --changes FILE   JSON object with the changed fields (amended)
  --id UUID        client id that makes the response idempotent (default: a fresh one)
  --json           print the answer as JSON
` + apiFlagsUsage

func init() {
	register("respond", "respond to a notice", runRespond)
}

// runRespond implements `penhub respond`.
func runRespond(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("respond", flag.ContinueOnError)
	var af apiFlags
	af.register(fs)
	decision := fs.String("decision", "", "")
	reason := fs.String("reason", "", "")
	quantity := fs.String("quantity", "", "")
	unit := fs.String("unit", "", "")
	changes := fs.String("changes", "", "")
	clientID := fs.String("id", "", "")
	asJSON := fs.Bool("json", false, "")
	ids, code, ok := parseCommand(fs, "respond", respondUsage, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(ids) != 1 {
		return usageError(stderr, "respond", "want exactly one notice ID, got %d", len(ids))
	}
	if *decision == "" {
		return usageError(stderr, "respond", "--decision is required")
	}
	req := client.ResponseRequest{ID: *clientID, Decision: *decision, Reason: *reason, Unit: *unit}
	if req.ID == "" {
		req.ID = uuid.NewString()
	}
	if (*quantity == "") != (*unit == "") {
		return usageError(stderr, "respond", "--quantity and --unit go together")
	}
	if *quantity != "" {
		q, err := strconv.ParseFloat(*quantity, 64)
		if err != nil || q <= 0 || math.IsInf(q, 0) || math.IsNaN(q) {
			return usageError(stderr, "respond", "--quantity %q is not a number > 0", *quantity)
		}
		req.Quantity = &q
	}
	if *changes != "" {
		b, err := os.ReadFile(*changes)
		if err != nil {
			return fail(stderr, "respond", fmt.Errorf("reading changes: %w", err))
		}
		if !json.Valid(b) {
			return fail(stderr, "respond", fmt.Errorf("reading changes: %s is not JSON", *changes))
		}
		req.Changes = b
	}
	c, err := af.newClient()
	if err != nil {
		return clientError(stderr, "respond", err)
	}
	res, err := c.Respond(ctx, ids[0], req)
	if err != nil {
		return fail(stderr, "respond", err)
	}
	if *asJSON {
		if err := printJSON(stdout, res); err != nil {
			return fail(stderr, "respond", err)
		}
		return 0
	}
	fmt.Fprintf(stdout, "%s recorded at log index %d; notice status: %s\n", *decision, res.Index, dash(res.Status))
	return 0
}
