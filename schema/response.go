package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Response is the plaintext of a response entry (SPEC §5.2): a decision on a notice, with
// what that decision carries.
type Response struct {
	// Decision is one of [Decisions].
	Decision string `json:"decision"`
	// Reason explains the decision; required for objection, request_info and info.
	Reason string `json:"reason,omitempty"`
	// Quantity and Unit are what left in this shipment; required for shipped, not allowed
	// otherwise.
	Quantity *float64 `json:"quantity,omitempty"`
	Unit     string   `json:"unit,omitempty"`
	// ShippedOn is the day the shipment left (YYYY-MM-DD); optional, shipped only.
	ShippedOn string `json:"shipped_on,omitempty"`
	// Changes is, for amended only (and required there), a JSON object of the body fields
	// that change, applied to the notice body as a JSON merge patch (RFC 7396); see
	// [ApplyAmendment].
	Changes json.RawMessage `json:"changes,omitempty"`
}

// ResponseRequest is what a focal point posts to answer a notice: the fields of a
// [Response] plus an optional client id (a UUID) that makes a retry idempotent.
type ResponseRequest struct {
	ID        string          `json:"id,omitempty"`
	Decision  string          `json:"decision"`
	Reason    string          `json:"reason,omitempty"`
	Quantity  *float64        `json:"quantity,omitempty"`
	Unit      string          `json:"unit,omitempty"`
	ShippedOn string          `json:"shipped_on,omitempty"`
	Changes   json.RawMessage `json:"changes,omitempty"`
}

// Response returns the plaintext to seal: the request without its client id.
func (r *ResponseRequest) Response() Response {
	return Response{Decision: r.Decision, Reason: r.Reason, Quantity: r.Quantity, Unit: r.Unit, ShippedOn: r.ShippedOn, Changes: r.Changes}
}

// ValidateResponse checks a response request on its own: the decision is known, and each
// decision has what it needs and nothing it may not carry. Whether the decision is allowed
// for this authority and in the notice's state is the node's business. It returns every
// problem, or nil.
func ValidateResponse(r *ResponseRequest) FieldErrors {
	var errs FieldErrors
	add := func(field, code, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Code: code, Problem: fmt.Sprintf(format, args...)})
	}
	if r.ID != "" && !uuidShape.MatchString(r.ID) {
		add("id", "uuid", "the client id %q is not a UUID", r.ID)
	}
	d := r.Decision
	switch {
	case d == "":
		add("decision", "required", "a decision is required: one of %s", strings.Join(decisions, ", "))
	case !slices.Contains(decisions, d):
		add("decision", "enum", "unknown decision %q: use one of %s", d, strings.Join(decisions, ", "))
	}
	if len(r.Reason) > 65536 {
		add("reason", "too_long", "the reason is longer than 65536 characters")
	}
	switch d {
	case "objection", "request_info", "info":
		if strings.TrimSpace(r.Reason) == "" {
			what := map[string]string{
				"objection":    "say why the shipment is objected to",
				"request_info": "say what information is needed",
				"info":         "give the information asked for",
			}[d]
			add("reason", "required", "a reason is required with %s: %s", d, what)
		}
	}
	if d == "shipped" {
		if r.Quantity == nil {
			add("quantity", "required", "the shipped quantity is required with shipped")
		}
		if r.Unit == "" {
			add("unit", "required", "the unit of the shipped quantity is required (one of %s)", strings.Join(units, ", "))
		}
	} else if d != "" {
		if r.Quantity != nil {
			add("quantity", "not_allowed", "a quantity is only allowed with decision shipped")
		}
		if r.Unit != "" {
			add("unit", "not_allowed", "a unit is only allowed with decision shipped")
		}
		if r.ShippedOn != "" {
			add("shipped_on", "not_allowed", "shipped_on is only allowed with decision shipped")
		}
	}
	if r.Quantity != nil && !(*r.Quantity > 0) {
		add("quantity", "quantity", "the quantity must be greater than 0 (got %s)", formatNumber(*r.Quantity))
	}
	if r.Unit != "" && !slices.Contains(units, r.Unit) {
		add("unit", "unit", "unit %q is not one of %s", r.Unit, strings.Join(units, ", "))
	}
	if r.ShippedOn != "" {
		if _, ok := parseDate(r.ShippedOn); !ok {
			add("shipped_on", "date", "%q is not a date (YYYY-MM-DD)", r.ShippedOn)
		}
	}
	hasChanges := len(r.Changes) > 0 && !isNull(r.Changes)
	switch {
	case d == "amended" && !hasChanges:
		add("changes", "required", "amended needs changes: an object of the body fields that change")
	case d == "amended":
		c := bytes.TrimSpace(r.Changes)
		if c[0] != '{' {
			add("changes", "changes", "changes must be a JSON object of the body fields that change")
		} else if string(bytes.Join(bytes.Fields(c), nil)) == "{}" {
			add("changes", "required", "changes is empty: name at least one body field that changes")
		}
	case d != "" && hasChanges:
		add("changes", "not_allowed", "changes are only allowed with decision amended")
	}
	return errs
}

// ApplyAmendment applies the changes of an amended response to a notice body of type typ,
// as a JSON merge patch (RFC 7396: an object merges, null deletes, anything else replaces),
// and validates the result as a new body at now (so an amendment of a pre_export must give a
// response deadline that is still open). It returns the amended body, or the problems with
// paths starting "changes" (the request field that carried them).
func ApplyAmendment(typ string, body, changes []byte, now time.Time) ([]byte, FieldErrors) {
	var orig, patch any
	if err := json.Unmarshal(body, &orig); err != nil {
		return nil, FieldErrors{{Field: "body", Code: "bad_request", Problem: "the notice body is not valid JSON"}}
	}
	if err := json.Unmarshal(changes, &patch); err != nil {
		return nil, FieldErrors{{Field: "changes", Code: "bad_request", Problem: "changes is not valid JSON"}}
	}
	if _, ok := patch.(map[string]any); !ok {
		return nil, FieldErrors{{Field: "changes", Code: "changes", Problem: "changes must be a JSON object of the body fields that change"}}
	}
	merged, err := json.Marshal(mergePatch(orig, patch))
	if err != nil {
		return nil, FieldErrors{{Field: "changes", Code: "bad_request", Problem: "cannot apply changes: " + err.Error()}}
	}
	errs := ValidateNoticeBody(typ, merged, now)
	if errs == nil {
		return merged, nil
	}
	for i := range errs {
		if rest, ok := strings.CutPrefix(errs[i].Field, "body"); ok {
			errs[i].Field = "changes" + rest
		}
	}
	return nil, errs
}

// mergePatch implements RFC 7396 §2.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = make(map[string]any)
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = mergePatch(t[k], v)
		}
	}
	return t
}
