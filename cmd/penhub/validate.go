package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/penhub/penhub/schema"
)

const validateUsage = `usage: penhub validate [--now YYYY-MM-DD] FILE...

Checks notice request files (SPEC §5) offline, and response request files (those with a
"decision" field). Prints one line per problem on stderr, "FILE: <field path>: <problem>".
Exit status: 0 when every file is valid, 1 when some problem was found, 2 on wrong usage.

  --now DATE   treat DATE (00:00 UTC) as the present for the date rules (default: now)
`

func init() {
	register("validate", "check notice and response request files offline", runValidate)
}

// runValidate implements `penhub validate`. It reads no environment and talks to no node.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	nowFlag := fs.String("now", "", "")
	var files []string
	// Accept flags before and after the file names.
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, validateUsage)
				return 0
			}
			return usageError(stderr, "validate", "%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) == 0 {
		return usageError(stderr, "validate", "no files given")
	}
	now := time.Now().UTC()
	if *nowFlag != "" {
		t, err := time.Parse(schema.DateLayout, *nowFlag)
		if err != nil {
			return usageError(stderr, "validate", "--now %q is not a date written YYYY-MM-DD", *nowFlag)
		}
		now = t
	}
	code := 0
	for _, f := range files {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "penhub validate: %v\n", ctx.Err())
			return 1
		}
		problems := validateFile(f, now)
		for _, p := range problems {
			if p.Field == "" {
				fmt.Fprintf(stderr, "%s: %s\n", f, p.Problem)
			} else {
				fmt.Fprintf(stderr, "%s: %s: %s\n", f, p.Field, p.Problem)
			}
		}
		if len(problems) > 0 {
			code = 1
		}
	}
	return code
}

// validateFile returns every problem of one file: a notice request, or a response request
// when its top level has a "decision" field and no "type".
func validateFile(name string, now time.Time) schema.FieldErrors {
	data, err := os.ReadFile(name)
	if err != nil {
		return schema.FieldErrors{{Code: "read", Problem: fmt.Sprintf("cannot read the file: %v", err)}}
	}
	var de *schema.DecodeError
	if isResponse(data) {
		r, err := schema.DecodeResponseRequest(data)
		if errors.As(err, &de) {
			return de.FieldErrors()
		}
		return schema.ValidateResponse(r)
	}
	req, err := schema.DecodeNoticeRequest(data)
	if errors.As(err, &de) {
		return de.FieldErrors()
	}
	return schema.ValidateNotice(req, now)
}

func isResponse(data []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	_, decision := top["decision"]
	_, typ := top["type"]
	return decision && !typ
}
