package schema_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/penhub/penhub/schema"
)

func ExampleValidateNotice() {
	data := []byte(`{"type":"pre_export","recipients":["NL"],"body":{
	  "exporter":{"name":"Rhein GmbH","address":"Köln","country":"DE"},
	  "importer":{"name":"Van Dijk B.V.","address":"Rotterdam","country":"NL"},
	  "items":[{"substance":"BMK","cas":"103-79-8","quantity":100,"unit":"kg"},
	           {"substance":"Unobtainium","quantity":-1,"unit":"kg"}],
	  "export_authorization":"DE-1","transport":{"mode":"road","departure_date":"2030-06-20"},
	  "response_deadline":"2030-06-15"}}`)
	req, err := schema.DecodeNoticeRequest(data)
	if err != nil {
		fmt.Println("400:", err)
		return
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range schema.ValidateNotice(req, now) {
		fmt.Printf("%s [%s] %s\n", p.Field, p.Code, p.Problem)
	}
	// Output:
	// body.items[0].cas [cas_checksum] CAS number 103-79-8 has a wrong check digit (expected 7)
	// body.items[1].substance [unknown_substance] unknown substance "Unobtainium": not in Table I, Table II or the watched list; a pre-export notification is only for those
	// body.items[1].quantity [quantity] the quantity must be greater than 0 (got -1)
}

func ExampleDecodeNoticeRequest() {
	_, err := schema.DecodeNoticeRequest([]byte(`{"type":"alert","recipients":["*"],"body":{"title":"t","sumary":"s"}}`))
	var de *schema.DecodeError
	if errors.As(err, &de) {
		fmt.Printf("%s: %s\n", de.Field, de.Problem)
	}
	// Output:
	// body.sumary: unknown field "sumary"
}

func ExampleLookupSubstance() {
	for _, q := range []string{"BMK", "p2p", "103-79-7", "gbl"} {
		s, ok := schema.LookupSubstance(q)
		fmt.Println(q, "→", s.Name, s.Table, s.CAS, ok)
	}
	// Output:
	// BMK → 1-Phenyl-2-propanone I 103-79-7 true
	// p2p → 1-Phenyl-2-propanone I 103-79-7 true
	// 103-79-7 → 1-Phenyl-2-propanone I 103-79-7 true
	// gbl → gamma-Butyrolactone watched 96-48-0 true
}
