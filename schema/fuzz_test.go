package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzDecodeValidate feeds arbitrary bytes to the decoders and validators. Properties: no
// panic; every problem names a field, a code and a sentence; a request that decodes
// re-encodes to one that decodes again and gets the same problems (decoding is a fixed
// point, so the node and the recipients judge the same bytes the same way).
func FuzzDecodeValidate(f *testing.F) {
	for _, doc := range bases {
		f.Add([]byte(doc))
	}
	examples, _ := filepath.Glob("../docs/examples/*.json")
	for _, name := range examples {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"type":"pre_export","recipients":["NL","NL","*"],"body":{"items":[{"substance":"103-79-8","cas":"103-79-8","quantity":-1}]}}`))
	f.Add([]byte(`{"type":"incident","body":{"category":"online_offer","items":[{"substance":"x","non_scheduled":true}]}}`))
	f.Add([]byte(`{"decision":"amended","changes":{"response_deadline":"2030-01-01"}}`))
	f.Add([]byte(`{"type":"alert","body":{"substances":[{"cas":"0-00-0"}]}} `))
	f.Fuzz(func(t *testing.T, data []byte) {
		if req, err := DecodeNoticeRequest(data); err == nil {
			errs := ValidateNotice(req, testNow)
			checkComplete(t, errs)
			again, err := json.Marshal(req)
			if err != nil {
				t.Fatalf("re-encoding a decoded request: %v", err)
			}
			req2, err := DecodeNoticeRequest(again)
			if err != nil {
				t.Fatalf("re-encoded request does not decode: %v\n%s", err, again)
			}
			if errs2 := ValidateNotice(req2, testNow); !slices.Equal(errs, errs2) {
				t.Fatalf("problems differ after re-encoding:\n%v\n%v", errs, errs2)
			}
			if req.Body != nil {
				checkComplete(t, ValidateNoticeBody(req.Type, req.Body, testNow))
				_ = BodySummary(req.Type, req.Body)
			}
		} else if _, ok := err.(*DecodeError); !ok {
			t.Fatalf("decode error of type %T", err)
		}
		if r, err := DecodeResponseRequest(data); err == nil {
			errs := ValidateResponse(r)
			checkComplete(t, errs)
			if errs == nil && r.Decision == "amended" {
				_, aerrs := ApplyAmendment(TypePreExport, []byte(basePreExportBody), r.Changes, testNow)
				checkComplete(t, aerrs)
			}
		}
	})
}

func checkComplete(t *testing.T, errs FieldErrors) {
	t.Helper()
	for _, e := range errs {
		if e.Code == "" || e.Problem == "" || e.Field == "" && e.Code != "bad_request" {
			t.Fatalf("incomplete problem %+v", e)
		}
	}
}

var basePreExportBody = func() string {
	var r struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal([]byte(basePreExport), &r); err != nil {
		panic(err)
	}
	return string(r.Body)
}()

// FuzzShapeSkip checks the shape scanner's JSON grammar against encoding/json's: skipping
// one raw value accepts exactly the documents json.Valid accepts.
func FuzzShapeSkip(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,-0.5e+3,"x\u00e9\n",true,false,null,{}]}`, `[1,]`, `{"a" 1}`, `01`, `1.`, `"\x"`, `[[[`, `  7  `, `-`, `{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := shapeScanner{data: data}
		err := s.skip("")
		if err == nil {
			s.ws()
		}
		accepted := err == nil && s.pos == len(data)
		if accepted != json.Valid(data) {
			t.Fatalf("scanner accepts %q: %v (err %v), json.Valid: %v", data, accepted, err, !accepted)
		}
	})
}
