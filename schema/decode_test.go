package schema

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeNoticeRequestStrict(t *testing.T) {
	cases := []struct {
		name, doc string
		field     string // path of the DecodeError
		problem   string // substring of its Problem
	}{
		{"malformed", `{"type":`, "type", "unexpected end"},
		{"not json", `hello`, "", "malformed JSON"},
		{"empty", ``, "", "unexpected end"},
		{"array top", `[]`, "", "expected an object, got an array"},
		{"null top", `null`, "", "expected an object, got null"},
		{"string top", ` "x"`, "", "expected an object, got the string \"x\""},
		{"trailing data", `{"type":"alert","recipients":["*"],"body":{"title":"t","summary":"s"}} {}`, "", "after the JSON value"},
		{"trailing garbage", `{"type":"alert"}x`, "", "after the JSON value"},
		{"unknown top field", `{"type":"alert","recipient":["NL"]}`, "recipient", `unknown field "recipient"`},
		{"unknown field odd key", `{"a b":1}`, `["a b"]`, "unknown field"},
		{"case differs", `{"Type":"alert"}`, "Type", "unknown field"},
		{"duplicate key", `{"type":"alert","type":"incident"}`, "type", "twice"},
		{"wrong type top", `{"type":1}`, "type", "expected a string, got the number 1"},
		{"wrong type recipients", `{"recipients":"NL"}`, "recipients", "expected an array"},
		{"wrong type recipient", `{"recipients":["NL",7]}`, "recipients[1]", "expected a string"},
		{"body not object", `{"type":"alert","body":[1]}`, "body", "must be a JSON object"},
		{"body string", `{"type":"alert","body":"x"}`, "body", "must be a JSON object"},
		{"unknown body field", `{"type":"alert","body":{"title":"t","titel":"x"}}`, "body.titel", "unknown field"},
		{"unknown nested", `{"type":"pre_export","body":{"items":[{"substance":"x"},{"substnce":"y"}]}}`, "body.items[1].substnce", "unknown field"},
		{"wrong nested type", `{"type":"pre_export","body":{"items":[{"substance":"x","cas":103797}]}}`, "body.items[0].cas", "expected a string"},
		{"quantity string", `{"type":"pre_export","body":{"items":[{"quantity":"5"}]}}`, "body.items[0].quantity", "expected a number"},
		{"bool as string", `{"type":"incident","body":{"items":[{"non_scheduled":"true"}]}}`, "body.items[0].non_scheduled", "expected true or false"},
		{"object for string", `{"type":"incident","body":{"category":{}}}`, "body.category", "expected a string, got an object"},
		{"number out of range", `{"type":"pre_export","body":{"items":[{"quantity":1e400}]}}`, "body.items[0].quantity", "out of range"},
		{"duplicate in body", `{"type":"alert","body":{"title":"a","title":"b"}}`, "body.title", "twice"},
		{"malformed in body", `{"type":"alert","body":{"title":"a",}}`, "body", "malformed JSON"},
		{"invalid utf8", "{\"type\":\"alert\",\"body\":{\"title\":\"\xff\"}}", "", "UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeNoticeRequest([]byte(tc.doc))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%+v), want a *DecodeError", err, req)
			}
			if de.Field != tc.field || !strings.Contains(de.Problem, tc.problem) {
				t.Errorf("got field %q problem %q; want field %q problem containing %q", de.Field, de.Problem, tc.field, tc.problem)
			}
			if fe := de.FieldErrors(); len(fe) != 1 || fe[0].Code != "bad_request" {
				t.Errorf("FieldErrors() = %v", fe)
			}
		})
	}
}

func TestDecodeNoticeRequestAccepts(t *testing.T) {
	cases := []struct{ name, doc string }{
		{"nulls are absent", `{"id":null,"type":"alert","recipients":["*"],"handling":null,"body":{"title":"t","summary":"s","substances":null,"valid_until":null}}`},
		{"whitespace around", " \n\t{\"type\":\"alert\",\"recipients\":[\"*\"],\"body\":{\"title\":\"t\",\"summary\":\"s\"}}\n "},
		{"unknown type keeps raw body", `{"type":"memo","recipients":["NL"],"body":{"anything":[1,{"x":null}]}}`},
		{"no body", `{"type":"alert","recipients":["*"]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeNoticeRequest([]byte(tc.doc)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDecodeDefaults(t *testing.T) {
	req, err := DecodeNoticeRequest(mutate(t, basePreExport, set("handling", del), set("body.items.1.form", "preparation")))
	if err != nil {
		t.Fatal(err)
	}
	if req.Handling != "H0" {
		t.Errorf("handling = %q, want H0", req.Handling)
	}
	pe, ok := req.Decoded().(*PreExport)
	if !ok {
		t.Fatalf("Decoded() = %T", req.Decoded())
	}
	if pe.Items[0].Form != "base" || pe.Items[1].Form != "preparation" {
		t.Errorf("forms = %q, %q", pe.Items[0].Form, pe.Items[1].Form)
	}
	if *pe.Items[0].Quantity != 250 || pe.Importer.Country != "NL" || pe.Transport.Route[1] != "NL" {
		t.Errorf("decoded body %+v", pe)
	}
	// The raw body is kept exactly as sent: it is what gets sealed.
	if strings.Contains(string(req.Body), `"base"`) {
		t.Errorf("defaults leaked into the raw body: %s", req.Body)
	}
	req, _ = DecodeNoticeRequest([]byte(`{"type":"memo","body":{}}`))
	if req.Decoded() != nil {
		t.Errorf("unknown type decoded to %T", req.Decoded())
	}
}

func TestDecodeBody(t *testing.T) {
	for typ, doc := range bases {
		v, err := DecodeBody(typ, extractBody(t, doc))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		switch v.(type) {
		case *PreExport, *Incident, *SuspiciousTransaction, *Alert:
		default:
			t.Errorf("%s: decoded to %T", typ, v)
		}
	}
	if _, err := DecodeBody("memo", []byte(`{}`)); !errors.Is(err, ErrUnknownNoticeType) {
		t.Errorf("unknown type: %v", err)
	}
	_, err := DecodeBody(TypeAlert, []byte(`{"title":5}`))
	var de *DecodeError
	if !errors.As(err, &de) || de.Field != "body.title" {
		t.Errorf("got %v", err)
	}
}

func TestDecodeNotice(t *testing.T) {
	n, err := DecodeNotice([]byte(`{"body":{"title":"t"}}`))
	if err != nil || string(n.Body) != `{"title":"t"}` {
		t.Fatalf("got %+v, %v", n, err)
	}
	if _, err := DecodeNotice([]byte(`{"body":{},"type":"alert"}`)); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestDecodeResponseRequest(t *testing.T) {
	r, err := DecodeResponseRequest([]byte(`{"id":"4e9b1c0a-7d28-4f63-95ae-2b8c6d0f1a57","decision":"shipped","quantity":80,"unit":"kg","changes":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Decision != "shipped" || *r.Quantity != 80 || r.Changes != nil || r.ID == "" {
		t.Errorf("decoded %+v", r)
	}
	r, err = DecodeResponseRequest([]byte(`{"decision":"amended","changes":{"response_deadline":"2030-07-01"}}`))
	if err != nil || string(r.Changes) != `{"response_deadline":"2030-07-01"}` {
		t.Errorf("changes %s, %v", r.Changes, err)
	}
	for doc, field := range map[string]string{
		`{"decision":"x","reasn":"y"}`:          "reasn",
		`{"decision":"shipped","quantity":"8"}`: "quantity",
		`{"decision":1}`:                        "decision",
		`{"decision":"x"}]`:                     "",
	} {
		_, err := DecodeResponseRequest([]byte(doc))
		var de *DecodeError
		if !errors.As(err, &de) || de.Field != field {
			t.Errorf("%s: got %v, want a DecodeError at %q", doc, err, field)
		}
	}
}
