package node

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/penhub/penhub/schema"
)

// Error codes of the HTTP API (SPEC §4.1). The order of this table is the
// precedence order when several apply; handlers check in this order.
const (
	codeUnauthorized      = "unauthorized"
	codeForbidden         = "forbidden"
	codeTooLarge          = "too_large"
	codeRateLimited       = "rate_limited"
	codeBadRequest        = "bad_request"
	codeValidationFailed  = "validation_failed"
	codeUnknownRecipient  = "unknown_recipient"
	codeInvalidTransition = "invalid_transition"
	codeNotFound          = "not_found"
	codeConflict          = "conflict"
	codeUnavailable       = "unavailable"
	codeOutcomeUnknown    = "outcome_unknown"
	codeInternal          = "internal"
)

// apiError is an error answer of the HTTP API. Handlers return it; the
// router writes it as {"error":{...}}.
type apiError struct {
	Status     int                 `json:"-"`
	Code       string              `json:"code"`
	Message    string              `json:"message"`
	Fields     []schema.FieldError `json:"fields,omitempty"`
	RetryAfter time.Duration       `json:"-"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		secs := int(e.RetryAfter.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, e.Status, map[string]*apiError{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Answers echo request text (paths, field values) unescaped: never let a
	// browser sniff them as HTML.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
