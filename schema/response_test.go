package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidateResponse(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string
	}{
		{"acknowledged", `{"decision":"acknowledged"}`, nil},
		{"no_objection", `{"decision":"no_objection","reason":"ok"}`, nil},
		{"no_objection bare", `{"decision":"no_objection"}`, nil},
		{"objection", `{"decision":"objection","reason":"consignee unknown"}`, nil},
		{"request_info", `{"decision":"request_info","reason":"end-user certificate"}`, nil},
		{"info", `{"decision":"info","reason":"certificate attached"}`, nil},
		{"cancelled", `{"decision":"cancelled"}`, nil},
		{"amended", `{"decision":"amended","changes":{"response_deadline":"2030-07-01"}}`, nil},
		{"shipped", `{"id":"4e9b1c0a-7d28-4f63-95ae-2b8c6d0f1a57","decision":"shipped","quantity":80,"unit":"kg","shipped_on":"2030-06-20"}`, nil},
		{"decision missing", `{}`, []string{"decision:required"}},
		{"decision unknown", `{"decision":"approved"}`, []string{"decision:enum"}},
		{"id not uuid", `{"id":"r1","decision":"acknowledged"}`, []string{"id:uuid"}},
		{"objection no reason", `{"decision":"objection"}`, []string{"reason:required"}},
		{"request_info blank reason", `{"decision":"request_info","reason":"  "}`, []string{"reason:required"}},
		{"info no reason", `{"decision":"info"}`, []string{"reason:required"}},
		{"reason too long", `{"decision":"acknowledged","reason":"` + strings.Repeat("x", 65537) + `"}`, []string{"reason:too_long"}},
		{"shipped bare", `{"decision":"shipped"}`, []string{"quantity:required", "unit:required"}},
		{"shipped zero", `{"decision":"shipped","quantity":0,"unit":"kg"}`, []string{"quantity:quantity"}},
		{"shipped negative", `{"decision":"shipped","quantity":-3,"unit":"kg"}`, []string{"quantity:quantity"}},
		{"shipped bad unit", `{"decision":"shipped","quantity":3,"unit":"tons"}`, []string{"unit:unit"}},
		{"shipped bad date", `{"decision":"shipped","quantity":3,"unit":"g","shipped_on":"June"}`, []string{"shipped_on:date"}},
		{"quantity elsewhere", `{"decision":"no_objection","quantity":3,"unit":"kg","shipped_on":"2030-01-01"}`, []string{"quantity:not_allowed", "unit:not_allowed", "shipped_on:not_allowed"}},
		{"amended no changes", `{"decision":"amended"}`, []string{"changes:required"}},
		{"amended null changes", `{"decision":"amended","changes":null}`, []string{"changes:required"}},
		{"amended empty changes", `{"decision":"amended","changes":{ }}`, []string{"changes:required"}},
		{"amended array changes", `{"decision":"amended","changes":[1]}`, []string{"changes:changes"}},
		{"changes elsewhere", `{"decision":"cancelled","changes":{"x":1}}`, []string{"changes:not_allowed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeResponseRequest([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			check(t, ValidateResponse(r), want(tc.want...))
		})
	}
}

func TestResponsePlaintextRoundTrip(t *testing.T) {
	r, err := DecodeResponseRequest([]byte(`{"id":"4e9b1c0a-7d28-4f63-95ae-2b8c6d0f1a57","decision":"shipped","quantity":80,"unit":"kg"}`))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := json.Marshal(r.Response())
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != `{"decision":"shipped","quantity":80,"unit":"kg"}` {
		t.Errorf("plaintext %s", plain)
	}
	back, err := DecodeResponseRequest(plain)
	if err != nil || back.Decision != "shipped" || *back.Quantity != 80 {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestApplyAmendment(t *testing.T) {
	body := extractBody(t, basePreExport)
	merged, errs := ApplyAmendment(TypePreExport, body, []byte(`{"response_deadline":"2030-06-18","remarks":"new route","transport":{"point_of_exit":"Venlo"}}`), testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	v, err := DecodeBody(TypePreExport, merged)
	if err != nil {
		t.Fatal(err)
	}
	pe := v.(*PreExport)
	if pe.ResponseDeadline != "2030-06-18" || pe.Remarks != "new route" || pe.Transport.PointOfExit != "Venlo" || pe.Transport.Mode != "road" {
		t.Errorf("merged body %s", merged)
	}
	// null deletes a field, arrays are replaced whole.
	merged, errs = ApplyAmendment(TypePreExport, body, []byte(`{"transport":{"route":null},"items":[{"substance":"Safrole","quantity":1,"unit":"L"}]}`), testNow)
	if errs != nil {
		t.Fatal(errs)
	}
	pe = mustDecode(t, merged).(*PreExport)
	if pe.Transport.Route != nil || len(pe.Items) != 1 || pe.Items[0].Substance != "Safrole" {
		t.Errorf("merged body %s", merged)
	}
	cases := []struct {
		changes string
		want    []string
	}{
		{`{"items":[{"substance":"Unobtainium","quantity":1,"unit":"kg"}]}`, []string{"changes.items[0].substance:unknown_substance"}},
		{`{"response_deadline":"2030-06-30"}`, []string{"changes.response_deadline:deadline_after_departure"}},
		{`{"exporter":null}`, []string{"changes.exporter:required"}},
		{`{"colour":"red"}`, []string{"changes.colour:bad_request"}},
		{`[1]`, []string{"changes:changes"}},
		{`{`, []string{"changes:bad_request"}},
	}
	for _, tc := range cases {
		_, errs := ApplyAmendment(TypePreExport, body, []byte(tc.changes), testNow)
		if g, w := got(errs), want(tc.want...); strings.Join(g, " ") != strings.Join(w, " ") {
			t.Errorf("%s: got %q, want %q", tc.changes, g, w)
		}
	}
	// An amendment is validated as of its own time: the old deadline may have passed.
	later := testNow.AddDate(0, 6, 0) // 2030-07-01
	if _, errs := ApplyAmendment(TypePreExport, body, []byte(`{"remarks":"x"}`), later); !errs.Has("changes.response_deadline") {
		t.Errorf("stale deadline not reported: %v", errs)
	}
}

func mustDecode(t *testing.T, body []byte) any {
	t.Helper()
	v, err := DecodeBody(TypePreExport, body)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
