package schema

import (
	"bytes"
	"fmt"
)

// Strict decoding happens in two passes. The first (shape.go) scans the bytes against the Go
// type and stops at the first value that does not fit, knowing its exact path (encoding/json
// alone reports neither the path of an unknown field nor duplicate keys, and matches keys
// case-insensitively). The second is a plain json.Unmarshal, which then cannot fail on shape
// and stays the final judge of syntax.

// DecodeNoticeRequest decodes a notice request strictly (see the package doc) and, when its
// type is known and it has a body, decodes the body into the type's struct as well, so an
// unknown or mistyped body field is a decode error too. Defaults are filled: Handling "H0",
// each item's Form "base". The error is always a [*DecodeError].
func DecodeNoticeRequest(data []byte) (*NoticeRequest, error) {
	var req NoticeRequest
	if err := decodeStrict(data, &req, ""); err != nil {
		return nil, err
	}
	if req.Handling == "" {
		req.Handling = "H0"
	}
	if len(req.Body) == 0 || isNull(req.Body) {
		req.Body = nil
		return &req, nil
	}
	if _, err := bodyPrototype(req.Type); err != nil {
		return &req, nil // ValidateNotice reports the type
	}
	v, err := decodeBody(req.Type, req.Body, "body")
	if err != nil {
		return nil, err
	}
	req.decoded = v
	return &req, nil
}

// DecodeBody decodes a notice body of type typ strictly and fills its defaults. It returns
// *PreExport, *Incident, *SuspiciousTransaction or *Alert; the error is
// [ErrUnknownNoticeType] or a [*DecodeError] whose paths start with "body".
func DecodeBody(typ string, body []byte) (any, error) {
	if _, err := bodyPrototype(typ); err != nil {
		return nil, err
	}
	return decodeBody(typ, body, "body")
}

// DecodeNotice decodes the plaintext of a notice entry strictly; the error is a
// [*DecodeError].
func DecodeNotice(data []byte) (*Notice, error) {
	var n Notice
	if err := decodeStrict(data, &n, ""); err != nil {
		return nil, err
	}
	return &n, nil
}

// DecodeResponseRequest decodes a response request strictly; the error is a [*DecodeError].
// It decodes the plaintext of a response entry ([Response]) as well, which lacks only the id.
func DecodeResponseRequest(data []byte) (*ResponseRequest, error) {
	var r ResponseRequest
	if err := decodeStrict(data, &r, ""); err != nil {
		return nil, err
	}
	if isNull(r.Changes) {
		r.Changes = nil
	}
	return &r, nil
}

func bodyPrototype(typ string) (any, error) {
	switch typ {
	case TypePreExport:
		return new(PreExport), nil
	case TypeIncident:
		return new(Incident), nil
	case TypeSuspiciousTransaction:
		return new(SuspiciousTransaction), nil
	case TypeAlert:
		return new(Alert), nil
	}
	return nil, fmt.Errorf("decoding body of type %q: %w", typ, ErrUnknownNoticeType)
}

func decodeBody(typ string, body []byte, prefix string) (any, error) {
	v, err := bodyPrototype(typ)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || isNull(trimmed) {
		return nil, &DecodeError{Field: prefix, Problem: "the body is missing"}
	}
	if trimmed[0] != '{' {
		return nil, &DecodeError{Field: prefix, Problem: "the body must be a JSON object"}
	}
	if err := decodeStrict(body, v, prefix); err != nil {
		return nil, err
	}
	fillDefaults(v)
	return v, nil
}

func fillDefaults(v any) {
	fill := func(items []Item) {
		for i := range items {
			if items[i].Form == "" {
				items[i].Form = "base"
			}
		}
	}
	switch b := v.(type) {
	case *PreExport:
		fill(b.Items)
	case *Incident:
		fill(b.Items)
	case *SuspiciousTransaction:
		fill(b.Order.Items)
	}
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }
