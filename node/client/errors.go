package client

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/penhub/penhub/schema"
)

// Error codes of SPEC §4.1, as found in [APIError.Code].
const (
	CodeUnauthorized      = "unauthorized"
	CodeForbidden         = "forbidden"
	CodeTooLarge          = "too_large"
	CodeRateLimited       = "rate_limited"
	CodeBadRequest        = "bad_request"
	CodeValidationFailed  = "validation_failed"
	CodeUnknownRecipient  = "unknown_recipient"
	CodeInvalidTransition = "invalid_transition"
	CodeNotFound          = "not_found"
	CodeConflict          = "conflict"
	CodeUnavailable       = "unavailable"
	CodeOutcomeUnknown    = "outcome_unknown"
)

// APIError is an answer outside 2xx.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the error code of SPEC §4.1 (Code* constants); empty when the
	// answer was not the JSON error shape.
	Code string
	// Message is the server's human-readable explanation.
	Message string
	// Fields lists every problem of a validation_failed (or bad_request)
	// answer.
	Fields []schema.FieldError
	// RetryAfter is the server's Retry-After (0 when absent).
	RetryAfter time.Duration
}

// Error gives "code: field: problem; field: problem" when there are field
// problems, "code: message" otherwise, and "http 502: <first line of the
// body>" for answers that are not the JSON error shape.
func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = fmt.Sprintf("http %d", e.Status)
	}
	if len(e.Fields) > 0 {
		parts := make([]string, len(e.Fields))
		for i, f := range e.Fields {
			parts[i] = f.Error()
		}
		return code + ": " + strings.Join(parts, "; ")
	}
	msg := e.Message
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.Status))
	}
	if msg == "" {
		return code
	}
	return code + ": " + msg
}

// Temporary reports whether the same request may succeed later (429, 503).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable
}

// fieldError decodes one entry of "fields" loosely (unknown keys ignored).
type fieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Problem string `json:"problem"`
}

func (f fieldError) FieldError() schema.FieldError {
	return schema.FieldError{Field: f.Field, Code: f.Code, Problem: f.Problem}
}
