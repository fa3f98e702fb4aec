package schema

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Problems are reported in the order of the fields in the request (the order of the Go
// struct fields, which is the order docs/schema.md and the console's forms use), so a
// person can walk through them top to bottom. Rules about a whole block (body.online) come
// before the fields inside it.

var orderCache sync.Map // reflect.Type → map[string]int

// fieldOrder maps the JSON names of a struct's fields to their position.
func fieldOrder(t reflect.Type) map[string]int {
	if m, ok := orderCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	orderCache.Store(t, m)
	return m
}

// pathKey turns a JSON path into a sort key: field positions and list indices. body is the
// Go type of "body" (nil when unknown).
func pathKey(path string, body reflect.Type) []int {
	var key []int
	t := reflect.TypeFor[NoticeRequest]()
	for path != "" {
		var seg string
		index := -1
		switch {
		case strings.HasPrefix(path, "[\""):
			end := strings.Index(path, "\"]")
			if end < 0 {
				return append(key, 1<<30)
			}
			seg, path = path[2:end], path[end+2:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(key, 1<<30)
			}
			n, err := strconv.Atoi(path[1:end])
			if err != nil {
				return append(key, 1<<30)
			}
			index, path = n, path[end+1:]
		default:
			path = strings.TrimPrefix(path, ".")
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			seg, path = path[:end], path[end:]
		}
		if index >= 0 {
			key = append(key, index)
			if t != nil && t.Kind() == reflect.Slice {
				t = t.Elem()
			}
			continue
		}
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			return append(key, 1<<30)
		}
		pos, ok := fieldOrder(t)[seg]
		if !ok {
			return append(key, 1<<30)
		}
		key = append(key, pos)
		f := t.Field(pos)
		t = f.Type
		if f.Type == rawMessageType && seg == "body" {
			t = body
		}
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
	return key
}

// sortProblems orders errs by field position, keeping the order of problems of one field.
func sortProblems(errs FieldErrors, body any) {
	if len(errs) < 2 {
		return
	}
	var bt reflect.Type
	if body != nil {
		bt = reflect.TypeOf(body)
	}
	keys := make(map[string][]int, len(errs))
	for _, e := range errs {
		if _, ok := keys[e.Field]; !ok {
			keys[e.Field] = pathKey(e.Field, bt)
		}
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int {
		return slices.Compare(keys[a.Field], keys[b.Field])
	})
}
