package feed

import "errors"

// Sentinel errors of the package. Callers match them with errors.Is.
var (
	// ErrBadFilter means a feed query parameter (types, substances, countries, categories) is
	// malformed. The node answers 400 bad_request.
	ErrBadFilter = errors.New("bad feed filter")

	// ErrBadConfig means a [Config] field is out of range; the message names the field.
	ErrBadConfig = errors.New("bad feed config")
)
