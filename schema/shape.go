package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxRawDepth is how deeply arrays and objects may nest inside a raw (unchecked) field, the
// same limit encoding/json applies.
const maxRawDepth = 10000

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// decodeStrict decodes data into v (a pointer) after checking its shape; paths in errors
// start with prefix.
func decodeStrict(data []byte, v any, prefix string) error {
	if !utf8.Valid(data) {
		return &DecodeError{Field: prefix, Problem: "the request is not valid UTF-8"}
	}
	s := shapeScanner{data: data}
	if s.ws(); s.pos < len(data) && data[s.pos] != '{' {
		return s.wrongType(prefix, "an object")
	}
	if err := s.value(reflect.TypeOf(v).Elem(), prefix); err != nil {
		return err
	}
	s.ws()
	if s.pos < len(s.data) {
		return &DecodeError{Field: prefix, Problem: "unexpected data after the JSON value"}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &DecodeError{Field: prefix, Problem: "cannot decode: " + err.Error()}
	}
	return nil
}

// shapeScanner checks JSON text against a Go type in one pass over the bytes, without
// building values. It accepts exactly the JSON grammar of RFC 8259 (a JSON null fits every
// type and means absent).
type shapeScanner struct {
	data []byte
	pos  int
}

func (s *shapeScanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *shapeScanner) syntax(path, format string, args ...any) error {
	if s.pos >= len(s.data) {
		return &DecodeError{Field: path, Problem: "unexpected end of JSON"}
	}
	return &DecodeError{Field: path, Problem: fmt.Sprintf("malformed JSON at byte %d: ", s.pos) + fmt.Sprintf(format, args...)}
}

func (s *shapeScanner) unexpected(path, what string) error {
	if s.pos >= len(s.data) {
		return &DecodeError{Field: path, Problem: "unexpected end of JSON"}
	}
	r, _ := utf8.DecodeRune(s.data[s.pos:])
	return s.syntax(path, "unexpected %q, expected %s", r, what)
}

// value checks the next value against t.
func (s *shapeScanner) value(t reflect.Type, path string) error {
	s.ws()
	if s.pos >= len(s.data) {
		return s.syntax(path, "")
	}
	c := s.data[s.pos]
	if c == 'n' {
		return s.literal("null", path)
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return s.skip(path)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if c != '{' {
			return s.wrongType(path, "an object")
		}
		return s.object(t, path)
	case reflect.Slice:
		if c != '[' {
			return s.wrongType(path, "an array")
		}
		s.pos++
		s.ws()
		if s.pos < len(s.data) && s.data[s.pos] == ']' {
			s.pos++
			return nil
		}
		for i := 0; ; i++ {
			if err := s.value(t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
			s.ws()
			if s.pos >= len(s.data) {
				return s.syntax(path, "")
			}
			switch s.data[s.pos] {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return nil
			default:
				return s.unexpected(path, "',' or ']'")
			}
		}
	case reflect.String:
		if c != '"' {
			return s.wrongType(path, "a string")
		}
		_, _, err := s.str(path)
		return err
	case reflect.Bool:
		switch c {
		case 't':
			return s.literal("true", path)
		case 'f':
			return s.literal("false", path)
		}
		return s.wrongType(path, "true or false")
	case reflect.Float64, reflect.Float32:
		if c != '-' && (c < '0' || c > '9') {
			return s.wrongType(path, "a number")
		}
		n, err := s.number(path)
		if err != nil {
			return err
		}
		if _, err := strconv.ParseFloat(n, t.Bits()); err != nil {
			return &DecodeError{Field: path, Problem: fmt.Sprintf("the number %s is out of range", n)}
		}
		return nil
	}
	return &DecodeError{Field: path, Problem: "field of unsupported type " + t.String()}
}

func (s *shapeScanner) object(t reflect.Type, path string) error {
	fields := fieldsOf(t)
	s.pos++ // '{'
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	var seen []string // objects are small; a slice beats a map
	for {
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.unexpected(path, "a field name")
		}
		raw, escaped, err := s.str(path)
		if err != nil {
			return err
		}
		key := string(raw)
		if escaped {
			if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &key); err != nil {
				return s.syntax(path, "bad field name")
			}
		}
		fpath := joinPath(path, key)
		for _, k := range seen {
			if k == key {
				return &DecodeError{Field: fpath, Problem: "the field appears twice"}
			}
		}
		seen = append(seen, key)
		ft, ok := fields[key]
		if !ok {
			return &DecodeError{Field: fpath, Problem: fmt.Sprintf("unknown field %q", key)}
		}
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.unexpected(fpath, "':'")
		}
		s.pos++
		if err := s.value(ft, fpath); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.data) {
			return s.syntax(path, "")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.unexpected(path, "',' or '}'")
		}
	}
}

func (s *shapeScanner) wrongType(path, want string) error {
	got := "something else"
	switch c := s.data[s.pos]; {
	case c == '{':
		got = "an object"
	case c == '[':
		got = "an array"
	case c == '"':
		if raw, _, err := s.str(path); err == nil {
			got = "the string " + strconv.Quote(truncate(string(raw), 40))
		} else {
			got = "a string"
		}
	case c == '-' || c >= '0' && c <= '9':
		if n, err := s.number(path); err == nil {
			got = "the number " + truncate(n, 40)
		} else {
			got = "a number"
		}
	case c == 't':
		got = "true"
	case c == 'f':
		got = "false"
	case c == 'n':
		got = "null"
	default:
		return s.unexpected(path, "a value")
	}
	return &DecodeError{Field: path, Problem: fmt.Sprintf("expected %s, got %s", want, got)}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (s *shapeScanner) literal(word, path string) error {
	if !strings.HasPrefix(string(s.data[s.pos:min(len(s.data), s.pos+len(word))]), word) {
		return s.unexpected(path, "a value")
	}
	s.pos += len(word)
	return nil
}

// str scans a string at s.pos and returns its raw contents (between the quotes) and whether
// it has escapes.
func (s *shapeScanner) str(path string) ([]byte, bool, error) {
	start := s.pos + 1
	escaped := false
	for i := start; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '"':
			s.pos = i + 1
			return s.data[start:i], escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(s.data) {
				s.pos = len(s.data)
				return nil, false, s.syntax(path, "")
			}
			switch s.data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 >= len(s.data) {
					s.pos = len(s.data)
					return nil, false, s.syntax(path, "")
				}
				for _, h := range s.data[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						s.pos = i
						return nil, false, s.syntax(path, "bad \\u escape in string")
					}
				}
				i += 5
			default:
				s.pos = i
				return nil, false, s.syntax(path, "bad escape in string")
			}
		case c < 0x20:
			s.pos = i
			return nil, false, s.syntax(path, "control character in string")
		}
	}
	s.pos = len(s.data)
	return nil, false, s.syntax(path, "")
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at s.pos.
func (s *shapeScanner) number(path string) (string, error) {
	start, d := s.pos, s.data
	i := start
	digits := func() bool {
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		s.pos = i
		return "", s.unexpected(path, "a digit")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			s.pos = i
			return "", s.unexpected(path, "a digit")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			s.pos = i
			return "", s.unexpected(path, "a digit")
		}
	}
	s.pos = i
	return string(d[start:i]), nil
}

// skip scans any one value, checking only its syntax, without recursion.
func (s *shapeScanner) skip(path string) error {
	var stack []byte // open containers: '{' or '['
	for {
		// A value is expected here.
		s.ws()
		if s.pos >= len(s.data) {
			return s.syntax(path, "")
		}
		switch c := s.data[s.pos]; {
		case c == '{' || c == '[':
			if len(stack) >= maxRawDepth {
				return &DecodeError{Field: path, Problem: "nested too deeply"}
			}
			stack = append(stack, c)
			s.pos++
			s.ws()
			if s.pos < len(s.data) && (c == '{' && s.data[s.pos] == '}' || c == '[' && s.data[s.pos] == ']') {
				s.pos++
				stack = stack[:len(stack)-1]
				break
			}
			if c == '{' {
				if err := s.key(path); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			if _, _, err := s.str(path); err != nil {
				return err
			}
		case c == '-' || c >= '0' && c <= '9':
			if _, err := s.number(path); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal("true", path); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false", path); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null", path); err != nil {
				return err
			}
		default:
			return s.unexpected(path, "a value")
		}
		// A value ended: close containers or move to the next element.
		for {
			if len(stack) == 0 {
				return nil
			}
			s.ws()
			if s.pos >= len(s.data) {
				return s.syntax(path, "")
			}
			top := stack[len(stack)-1]
			c := s.data[s.pos]
			if c == ',' {
				s.pos++
				if top == '{' {
					if err := s.key(path); err != nil {
						return err
					}
				}
				break
			}
			if top == '{' && c == '}' || top == '[' && c == ']' {
				s.pos++
				stack = stack[:len(stack)-1]
				continue
			}
			return s.unexpected(path, "',' or the end of the "+map[byte]string{'{': "object", '[': "array"}[top])
		}
	}
}

// key scans `"name" :` inside a raw object.
func (s *shapeScanner) key(path string) error {
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return s.unexpected(path, "a field name")
	}
	if _, _, err := s.str(path); err != nil {
		return err
	}
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return s.unexpected(path, "':'")
	}
	s.pos++
	return nil
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
