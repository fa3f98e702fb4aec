package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
)

func init() {
	register("admit-node", "with a secretariat token: add a node (node-request.json from init --join) to the hub", runAdmitNode)
}

func runAdmitNode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admit-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af apiFlags
	af.register(fs)
	request := fs.String("request", "", "the node-request.json written by penhub init --join")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *request == "" || fs.NArg() > 0 {
		return usageError(stderr, "admit-node", "want --request FILE (and --node URL, a secretariat token)")
	}
	raw, err := os.ReadFile(*request)
	if err != nil {
		return fail(stderr, "reading node request", err)
	}
	if !json.Valid(raw) {
		return fail(stderr, "reading node request", fmt.Errorf("%s is not JSON", *request))
	}
	c, err := af.newClient()
	if err != nil {
		return clientError(stderr, "admit-node", err)
	}
	res, err := c.AdmitNode(ctx, raw)
	if err != nil {
		return fail(stderr, "admit-node", err)
	}
	fmt.Fprintf(stdout, "node admitted at log index %d; it joins Raft as a non-voter and catches up\n", res.Index)
	return 0
}
