package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/penhub/penhub/node"
)

func init() {
	register("node", "run one node from its data dir (restarts a dead node with its identity and data)", runNode)
}

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the node's data directory (created by penhub init or penhub dev)")
	insecure := fs.Bool("insecure-http", false, "serve the API over plain HTTP even on a non-loopback address (SPEC §6.7; default: refuse)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: penhub node --data-dir DIR [--insecure-http]")
		return 2
	}
	cfg, err := node.LoadConfigWith(*dataDir, func(c *node.Config) { c.InsecureHTTP = c.InsecureHTTP || *insecure })
	if err != nil {
		return fail(stderr, "loading node config", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fail(stderr, "log_level", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})).With("node_id", cfg.NodeID)
	n, err := node.New(ctx, cfg, logger)
	if err != nil {
		return fail(stderr, "starting node", err)
	}
	if err := n.Run(ctx); err != nil {
		return fail(stderr, "running node", err)
	}
	return 0
}
