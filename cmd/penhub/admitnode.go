package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func init() {
	register("admit-node", "with a secretariat token: add a node (node-request.json from init --join) to the hub", runAdmitNode)
}

func runAdmitNode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admit-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodeURL := fs.String("node", os.Getenv("PENHUB_NODE"), "API URL of the secretariat's node (default $PENHUB_NODE)")
	token := fs.String("token", os.Getenv("PENHUB_TOKEN"), "secretariat focal point token (default $PENHUB_TOKEN)")
	request := fs.String("request", "", "the node-request.json written by penhub init --join")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *request == "" || *nodeURL == "" || *token == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: penhub admit-node --request FILE [--node URL] [--token T]")
		return 2
	}
	raw, err := os.ReadFile(*request)
	if err != nil {
		return fail(stderr, "reading node request", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*nodeURL, "/")+"/v1/directory/nodes", bytes.NewReader(raw))
	if err != nil {
		return fail(stderr, "admitting node", err)
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fail(stderr, "admitting node", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Error struct {
				Code, Message string
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return fail(stderr, "admitting node", fmt.Errorf("%s: %s", e.Error.Code, e.Error.Message))
	}
	var out struct {
		Index uint64 `json:"index"`
	}
	_ = json.Unmarshal(body, &out)
	fmt.Fprintf(stdout, "node admitted at log index %d; it joins Raft as a non-voter and catches up\n", out.Index)
	return 0
}
