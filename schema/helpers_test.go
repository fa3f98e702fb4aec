package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testNow is "now" in the table tests: the start of 2030-01-01 UTC.
var testNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Valid requests of every type, as JSON; the table tests mutate copies of them.
const (
	basePreExport = `{
  "id": "6f1c2a4e-8b1d-4c7e-9a52-3e0d6b7f9a10",
  "type": "pre_export", "recipients": ["NL"], "handling": "H0",
  "body": {
    "exporter": {"name": "Chemiehandel Rhein GmbH", "address": "Industriestr. 12, Köln", "country": "DE"},
    "importer": {"name": "Van Dijk B.V.", "address": "Havenweg 4, Rotterdam", "country": "NL"},
    "items": [
      {"substance": "Pseudoephedrine", "cas": "90-82-4", "hs_code": "2939.42", "quantity": 250, "unit": "kg"},
      {"substance": "Acetic anhydride", "quantity": 1000, "unit": "L"}
    ],
    "export_authorization": "DE-2030-0412",
    "transport": {"mode": "road", "route": ["DE", "NL"], "departure_date": "2030-06-20"},
    "response_deadline": "2030-06-15"
  }}`
	baseIncident = `{
  "type": "incident", "recipients": ["NL", "DE-BKA", "INT-INCB"],
  "body": {
    "category": "seizure", "occurred_on": "2029-12-01",
    "location": {"country": "NL", "place": "Port of Rotterdam"},
    "items": [{"substance": "APAAN", "quantity": 500, "unit": "kg"}],
    "companies": [{"name": "Shell Co Ltd", "country": "HK", "role": "consignee"}],
    "related": ["6f1c2a4e-8b1d-4c7e-9a52-3e0d6b7f9a10"],
    "modus_operandi": "Declared as sodium benzoate."
  }}`
	baseSuspicious = `{
  "type": "suspicious_transaction", "recipients": ["AU"],
  "body": {
    "reported_by": {"sector": "platform", "name": "ChemTrade", "country": "NL"},
    "order": {"placed_on": "2029-12-10", "items": [{"substance": "GBL", "quantity": 200, "unit": "L"}],
              "buyer": {"name": "J. Smith", "country": "AU"}, "delivery_country": "AU"},
    "indicators": ["unusual_quantity", "cash_or_crypto_payment"],
    "narrative": "200 L of GBL as wheel cleaner, paid in bitcoin."
  }}`
	baseAlert = `{
  "type": "alert", "recipients": ["*"],
  "body": {
    "title": "BMK glycidates under invented names",
    "summary": "Offers of BMK glycidic acid esters with wrong CAS numbers.",
    "substances": [{"substance": "BMK ethyl glycidate"}, {"cas": "16648-44-5"}],
    "valid_until": "2030-12-31"
  }}`
)

var bases = map[string]string{
	TypePreExport: basePreExport, TypeIncident: baseIncident,
	TypeSuspiciousTransaction: baseSuspicious, TypeAlert: baseAlert,
}

// mutation changes a decoded JSON document: set path to value, or delete path when value is
// the del sentinel. Paths are dotted with numeric indices: "body.items.0.cas".
type mutation struct {
	path  string
	value any
}

type deleted struct{}

var del = deleted{}

func set(path string, value any) mutation { return mutation{path, value} }

func mutate(t testing.TB, doc string, ms ...mutation) []byte {
	t.Helper()
	var root any
	if err := json.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatalf("base document: %v", err)
	}
	for _, m := range ms {
		root = apply(t, root, strings.Split(m.path, "."), m.value)
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func apply(t testing.TB, node any, path []string, value any) any {
	t.Helper()
	key := path[0]
	switch n := node.(type) {
	case map[string]any:
		if len(path) == 1 {
			if value == del {
				delete(n, key)
			} else {
				n[key] = value
			}
			return n
		}
		child, ok := n[key]
		if !ok {
			child = map[string]any{}
		}
		n[key] = apply(t, child, path[1:], value)
		return n
	case []any:
		i, err := strconv.Atoi(key)
		if err != nil || i >= len(n) {
			t.Fatalf("bad index %q", key)
		}
		if len(path) == 1 {
			if value == del {
				return slices.Delete(n, i, i+1)
			}
			n[i] = value
			return n
		}
		n[i] = apply(t, n[i], path[1:], value)
		return n
	}
	t.Fatalf("cannot descend into %T at %q", node, key)
	return nil
}

// got renders FieldErrors as sorted "field:code" strings.
func got(errs FieldErrors) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, e.Field+":"+e.Code)
	}
	slices.Sort(out)
	return out
}

func want(s ...string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

func check(t *testing.T, errs FieldErrors, wantErrs []string) {
	t.Helper()
	if g := got(errs); !slices.Equal(g, wantErrs) {
		t.Errorf("problems:\n got  %q\n want %q\n%s", g, wantErrs, describeErrs(errs))
	}
	for _, e := range errs {
		if e.Field == "" || e.Code == "" || e.Problem == "" {
			t.Errorf("incomplete field error %+v", e)
		}
	}
}

func describeErrs(errs FieldErrors) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "   %s [%s] %s\n", e.Field, e.Code, e.Problem)
	}
	return b.String()
}

func p(f float64) *float64 { return &f }

type jsonRaw = json.RawMessage

func mustUnmarshal(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// extractBody returns the body of a request document.
func extractBody(t testing.TB, doc string) []byte {
	t.Helper()
	var r struct {
		Body json.RawMessage `json:"body"`
	}
	mustUnmarshal(t, []byte(doc), &r)
	return r.Body
}
