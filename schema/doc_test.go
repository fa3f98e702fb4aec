package schema

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestSchemaDocCoversEveryField keeps docs/schema.md complete: every JSON field of every
// request and body type is named there.
func TestSchemaDocCoversEveryField(t *testing.T) {
	doc, err := os.ReadFile("../docs/schema.md")
	if err != nil {
		t.Skipf("docs not present: %v", err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, where string)
	walk = func(typ reflect.Type, where string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for name, ft := range fieldsOf(typ) {
			if !strings.Contains(string(doc), name) {
				t.Errorf("docs/schema.md does not mention %s.%s", where, name)
			}
			walk(ft, where+"."+name)
		}
	}
	for _, v := range []any{NoticeRequest{}, PreExport{}, Incident{}, SuspiciousTransaction{}, Alert{}, ResponseRequest{}} {
		walk(reflect.TypeOf(v), reflect.TypeOf(v).Name())
	}
	for _, list := range [][]string{NoticeTypes(), Decisions(), Units()} {
		for _, v := range list {
			if !strings.Contains(string(doc), "`"+v+"`") {
				t.Errorf("docs/schema.md does not mention `%s`", v)
			}
		}
	}
}
