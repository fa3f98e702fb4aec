package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Strict decoding happens in two passes. The first walks the JSON tokens against the Go
// type and stops at the first value that does not fit, knowing its exact path (encoding/json
// alone reports neither the path of an unknown field nor duplicate keys). The second is a
// plain json.Unmarshal, which then cannot fail on shape.

var rawMessageType = reflect.TypeFor[json.RawMessage]()

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

// decodeStrict decodes data into v (a pointer) after checking its shape; paths in errors
// start with prefix.
func decodeStrict(data []byte, v any, prefix string) error {
	if !utf8.Valid(data) {
		return &DecodeError{Field: prefix, Problem: "the request is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := walker{dec: dec}
	if err := w.value(reflect.TypeOf(v).Elem(), prefix); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &DecodeError{Field: prefix, Problem: "unexpected data after the JSON value"}
	}
	if err := json.Unmarshal(data, v); err != nil {
		// Shape was checked; what is left is, e.g., nesting deeper than encoding/json allows
		// inside a raw field.
		return &DecodeError{Field: prefix, Problem: "cannot decode: " + err.Error()}
	}
	return nil
}

type walker struct{ dec *json.Decoder }

// token reads the next token and turns a syntax error into a DecodeError at path.
func (w walker) token(path string) (json.Token, error) {
	tok, err := w.dec.Token()
	if err == nil {
		return tok, nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, &DecodeError{Field: path, Problem: "unexpected end of JSON"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, &DecodeError{Field: path, Problem: fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())}
	}
	return nil, &DecodeError{Field: path, Problem: "malformed JSON: " + err.Error()}
}

// value checks the next JSON value against t. JSON null fits every type (it means absent).
func (w walker) value(t reflect.Type, path string) error {
	tok, err := w.token(path)
	if err != nil {
		return err
	}
	return w.valueFrom(tok, t, path)
}

func (w walker) valueFrom(tok json.Token, t reflect.Type, path string) error {
	if tok == nil {
		return nil
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return w.skip(tok, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return w.valueFrom(tok, t.Elem(), path)
	case reflect.Struct:
		if tok != json.Delim('{') {
			return wrongType(path, "an object", tok)
		}
		fields := fieldsOf(t)
		seen := make(map[string]bool)
		for w.dec.More() {
			ktok, err := w.token(path)
			if err != nil {
				return err
			}
			key, _ := ktok.(string)
			fpath := joinPath(path, key)
			if seen[key] {
				return &DecodeError{Field: fpath, Problem: "the field appears twice"}
			}
			seen[key] = true
			ft, ok := fields[key]
			if !ok {
				return &DecodeError{Field: fpath, Problem: fmt.Sprintf("unknown field %q", key)}
			}
			if err := w.value(ft, fpath); err != nil {
				return err
			}
		}
		_, err := w.token(path) // '}'
		return err
	case reflect.Slice:
		if tok != json.Delim('[') {
			return wrongType(path, "an array", tok)
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		_, err := w.token(path) // ']'
		return err
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return wrongType(path, "a string", tok)
		}
		return nil
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return wrongType(path, "true or false", tok)
		}
		return nil
	case reflect.Float64, reflect.Float32:
		n, ok := tok.(json.Number)
		if !ok {
			return wrongType(path, "a number", tok)
		}
		if _, err := strconv.ParseFloat(string(n), t.Bits()); err != nil {
			return &DecodeError{Field: path, Problem: fmt.Sprintf("the number %s is out of range", n)}
		}
		return nil
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32, reflect.Uint8:
		n, ok := tok.(json.Number)
		if !ok {
			return wrongType(path, "a whole number", tok)
		}
		var err error
		if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
			_, err = strconv.ParseUint(string(n), 10, t.Bits())
		} else {
			_, err = strconv.ParseInt(string(n), 10, t.Bits())
		}
		if err != nil {
			return &DecodeError{Field: path, Problem: fmt.Sprintf("%s is not a whole number in range", n)}
		}
		return nil
	}
	return &DecodeError{Field: path, Problem: "field of unsupported type " + t.String()}
}

// skip consumes the rest of a value whose first token is tok, checking only its syntax.
func (w walker) skip(tok json.Token, path string) error {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := w.token(path)
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func wrongType(path, want string, tok json.Token) error {
	return &DecodeError{Field: path, Problem: fmt.Sprintf("expected %s, got %s", want, describe(tok))}
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return "null"
}

// joinPath appends key to path: "body" + "items" = "body.items". A key that is not a plain
// word is quoted: body["a b"].
func joinPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if !plain {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// fieldsOf maps the JSON names of a struct's fields to their types, flattening embedded
// structs without a JSON name the way encoding/json does.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := make(map[string]reflect.Type)
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" && !strings.HasPrefix(tag, "-,") {
				continue
			}
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				add(f.Type)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			m[name] = f.Type
		}
	}
	add(t)
	fieldCache.Store(t, m)
	return m
}
