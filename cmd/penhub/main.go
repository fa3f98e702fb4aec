// Command penhub is the one binary of the penhub exchange hub: it runs nodes
// (penhub node, penhub dev), prepares them (penhub init, penhub keygen), audits
// stores (penhub verify), checks notice files (penhub validate) and is the
// command-line client of the HTTP API (post, inbox, show, respond, subscribe,
// token, authority, bench).
//
// main only wires: each subcommand lives in its own file as a function
//
//	func(ctx context.Context, args []string, stdout, stderr io.Writer) int
//
// returning the process exit code (0 success, 1 failure, 2 wrong usage).
// Errors are printed as one line "penhub: <what failed>: <why>".
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: its entry point and a one-line summary for usage.
type command struct {
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	summary string
}

// commands is filled by the init functions of the subcommand files.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	commands[name] = command{run: run, summary: summary}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a subcommand. Signals (SIGINT, SIGTERM) become the
// cancellation of one context here, and only here.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "penhub: unknown command %q (see penhub help)\n", args[0])
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: penhub <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
}

// fail prints the one-line error format of SPEC §3 and returns exit code 1.
func fail(stderr io.Writer, what string, err error) int {
	fmt.Fprintf(stderr, "penhub: %s: %v\n", what, err)
	return 1
}
