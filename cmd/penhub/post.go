package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/google/uuid"

	"github.com/penhub/penhub/node/client"
)

const postUsage = `usage: penhub post [--json] FILE

Posts the notice request in FILE ("-": standard input; SPEC §5) and prints the
new notice's id on stdout (its reference and log index go to stderr). When FILE
has no "id", a fresh client id (UUID v4) is sent, so that the retries this
command makes when the hub is briefly unavailable can never post it twice; to
make re-running the command itself safe, put an "id" in the file.

  --json   print the whole answer as JSON instead
` + apiFlagsUsage

func init() {
	register("post", "post a notice request", runPost)
}

// runPost implements `penhub post`.
func runPost(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("post", flag.ContinueOnError)
	var af apiFlags
	af.register(fs)
	asJSON := fs.Bool("json", false, "")
	files, code, ok := parseCommand(fs, "post", postUsage, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) != 1 {
		return usageError(stderr, "post", "want exactly one FILE, got %d", len(files))
	}
	c, err := af.newClient()
	if err != nil {
		return clientError(stderr, "post", err)
	}
	name := files[0]
	var data []byte
	if name == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return fail(stderr, "post", fmt.Errorf("reading notice request: %w", err))
	}
	body, generated, err := withClientID(data)
	if err != nil {
		return fail(stderr, "post "+name, err)
	}
	res, err := c.PostNotice(ctx, json.RawMessage(body))
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Code == client.CodeOutcomeUnknown && generated != "" {
		// A re-run would send a new client id and could post twice.
		err = fmt.Errorf("%w (the notice may have been posted: to retry safely, add \"id\": %q to the file)", err, generated)
	}
	if err != nil {
		return fail(stderr, "post "+name, err)
	}
	if *asJSON {
		if err := printJSON(stdout, res); err != nil {
			return fail(stderr, "post", err)
		}
		return 0
	}
	fmt.Fprintln(stdout, res.ID)
	if res.Existing {
		fmt.Fprintf(stderr, "already posted earlier with this client id: %s, log index %d\n", res.Reference, res.Index)
	} else {
		fmt.Fprintf(stderr, "posted %s, log index %d\n", res.Reference, res.Index)
	}
	return 0
}

// withClientID returns the request with a fresh UUID v4 in "id" (also
// returned as generated) unless it has a non-empty one. The request must be a
// JSON object; the rest of its checking is the node's (or penhub validate's).
func withClientID(data []byte) (body []byte, generated string, err error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(data, &req); err != nil || req == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, "", fmt.Errorf("reading notice request: not a JSON object: %w", err)
	}
	if raw, ok := req["id"]; ok {
		var id string
		if err := json.Unmarshal(raw, &id); err == nil && id != "" {
			return data, "", nil // sent exactly as written
		}
	}
	generated = uuid.NewString()
	req["id"], _ = json.Marshal(generated)
	body, err = json.Marshal(req)
	return body, generated, err
}
