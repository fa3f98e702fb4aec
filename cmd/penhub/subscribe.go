package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/penhub/penhub/node/client"
)

const subscribeUsage = `usage: penhub subscribe [--since INDEX] [--type T]... [--heartbeats]

Follows the live feed and prints one JSON object per line on stdout, each entry
once, in log order, until interrupted. It reconnects and resumes by itself.

  --since INDEX   first replay the entries from log index INDEX on
  --type T        only notices of type T (and their responses); repeat or comma-separate
  --heartbeats    print the heartbeat objects too
` + apiFlagsUsage

func init() {
	register("subscribe", "follow the live feed (JSON lines)", runSubscribe)
}

// runSubscribe implements `penhub subscribe`. Interrupting it is a normal end
// (exit 0).
func runSubscribe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("subscribe", flag.ContinueOnError)
	var af apiFlags
	af.register(fs)
	since := fs.String("since", "", "")
	var types []string
	fs.Func("type", "", func(v string) error {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				types = append(types, t)
			}
		}
		return nil
	})
	heartbeats := fs.Bool("heartbeats", false, "")
	rest, code, ok := parseCommand(fs, "subscribe", subscribeUsage, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return usageError(stderr, "subscribe", "unexpected argument %q", rest[0])
	}
	opts := client.SubscribeOptions{Types: types, Heartbeats: *heartbeats,
		OnReconnect: func(err error, wait time.Duration) {
			if err != nil {
				fmt.Fprintf(stderr, "penhub: subscribe: %v; reconnecting in %v\n", err, wait.Round(time.Millisecond))
			}
		}}
	if *since != "" {
		v, err := strconv.ParseUint(*since, 10, 63)
		if err != nil {
			return usageError(stderr, "subscribe", "--since %q is not a log index", *since)
		}
		opts.Since = &v
	}
	c, err := af.newClient()
	if err != nil {
		return clientError(stderr, "subscribe", err)
	}
	err = c.Subscribe(ctx, opts, func(m client.FeedMessage) error {
		var line bytes.Buffer // compact: one object per line whatever the server sent
		if err := json.Compact(&line, m.Raw); err != nil {
			return fmt.Errorf("feed message %d: %w", m.Index, err)
		}
		line.WriteByte('\n')
		if _, err := stdout.Write(line.Bytes()); err != nil {
			return fmt.Errorf("writing to stdout: %w", err)
		}
		return nil
	})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return 0
	}
	return fail(stderr, "subscribe", err)
}
