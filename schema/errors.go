package schema

import (
	"errors"
	"strings"
)

// Sentinel errors. Callers match them with errors.Is.
var (
	// ErrUnknownNoticeType is returned by [DecodeBody] for a type that is not one of
	// [NoticeTypes].
	ErrUnknownNoticeType = errors.New("unknown notice type")
)

// FieldError is one problem with one field of a request.
//
// Field is the JSON path of the field from the root of the request (`recipients[1]`,
// `body.items[0].cas`); Code is a short snake_case word a program can switch on (see
// docs/schema.md for the list); Problem is a plain-English sentence for the person who wrote
// the request.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Problem string `json:"problem"`
}

// Error implements error as "field: problem".
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// FieldErrors is every problem found in one request, in a stable order (the order of the
// fields in the request type, then the cross-field rules). A nil FieldErrors means valid.
type FieldErrors []FieldError

// Error implements error; it joins the problems with "; ".
func (es FieldErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Has reports whether some problem concerns field (an exact JSON path).
func (es FieldErrors) Has(field string) bool {
	for _, e := range es {
		if e.Field == field {
			return true
		}
	}
	return false
}

// DecodeError is a request that is not well-formed JSON of the expected shape: malformed
// JSON, an unknown or duplicate field, a value of the wrong JSON type, or data after the
// value. An HTTP API answers it with 400 bad_request.
type DecodeError struct {
	// Field is the JSON path of the offending value; empty when the problem is the document
	// as a whole (for example malformed JSON before any field).
	Field string
	// Problem says what is wrong, in plain English.
	Problem string
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "malformed request: " + e.Problem
	}
	return "malformed request: " + e.Field + ": " + e.Problem
}

// FieldErrors presents the decode error as a one-element list with code "bad_request", for
// callers (such as `penhub validate`) that report every problem the same way.
func (e *DecodeError) FieldErrors() FieldErrors {
	return FieldErrors{{Field: e.Field, Code: "bad_request", Problem: e.Problem}}
}
