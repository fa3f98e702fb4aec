package schema

import (
	"slices"
	"testing"
)

func TestBodySummary(t *testing.T) {
	pe := BodySummary(TypePreExport, nil)
	if pe.Type != TypePreExport || pe.Deadline != "" {
		t.Errorf("empty body: %+v", pe)
	}
	body := extractBody(t, string(mutate(t, basePreExport,
		set("body.items.1.substance", "BMK"), set("body.items.1.quantity", 500), set("body.items.1.unit", "g"),
		set("body.items", []any{
			map[string]any{"substance": "Pseudoephedrine", "quantity": 250, "unit": "kg"},
			map[string]any{"substance": "BMK", "quantity": 500, "unit": "g"},
			map[string]any{"substance": "acetic anhydride", "quantity": 1500, "unit": "mL"},
		}),
		set("body.consignee", map[string]any{"name": "x", "country": "BE"}), set("body.valid_until", "2030-09-30"))))
	s := BodySummary(TypePreExport, body)
	if s.Deadline != "2030-06-15" || s.ImporterCountry != "NL" || s.ExporterCountry != "DE" || s.DepartureDate != "2030-06-20" || s.ValidUntil != "2030-09-30" {
		t.Errorf("dates and parties: %+v", s)
	}
	if !slices.Equal(s.Substances, []string{"1-Phenyl-2-propanone", "Acetic anhydride", "Pseudoephedrine"}) {
		t.Errorf("substances %q", s.Substances)
	}
	if !slices.Equal(s.Countries, []string{"BE", "DE", "NL"}) {
		t.Errorf("countries %q", s.Countries)
	}
	if s.TotalQuantity["kg"] != 250.5 || s.TotalQuantity["L"] != 1.5 || len(s.TotalQuantity) != 2 {
		t.Errorf("total quantity %v", s.TotalQuantity)
	}

	in := BodySummary(TypeIncident, mutate(t, `{"category":"seizure","location":{"country":"NL"},"companies":[{"name":"a","country":"HK"}],
		"items":[{"substance":"APAAN"},{"substance":"P2NP","non_scheduled":true},{"substance":"x","cas":"103-79-7"}],"transport":{"route":["CN","NL"]}}`))
	if in.Category != "seizure" || !slices.Equal(in.Countries, []string{"CN", "HK", "NL"}) ||
		!slices.Equal(in.Substances, []string{"1-Phenyl-2-propanone", "P2NP", "alpha-Phenylacetoacetonitrile"}) {
		t.Errorf("incident summary %+v", in)
	}
	st := BodySummary(TypeSuspiciousTransaction, extractBody(t, baseSuspicious))
	if st.Category != "platform" || !slices.Equal(st.Countries, []string{"AU", "NL"}) || !slices.Equal(st.Substances, []string{"gamma-Butyrolactone"}) {
		t.Errorf("suspicious summary %+v", st)
	}
	al := BodySummary(TypeAlert, extractBody(t, baseAlert))
	if al.ValidUntil != "2030-12-31" || !slices.Equal(al.Substances, []string{"Methyl alpha-phenylacetoacetate", "P-2-P methyl glycidic acid, ethyl ester"}) {
		t.Errorf("alert summary %+v", al)
	}
	if s := BodySummary("memo", []byte(`{}`)); s.Type != "memo" || s.Substances != nil {
		t.Errorf("unknown type %+v", s)
	}
}
