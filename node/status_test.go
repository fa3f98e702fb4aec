package node

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/penhub/penhub/schema"
)

const testPreExportBody = `{
  "exporter": {"name": "E", "address": "A", "country": "DE"},
  "importer": {"name": "I", "address": "B", "country": "NL"},
  "items": [{"substance": "Pseudoephedrine", "quantity": 250, "unit": "kg"}],
  "export_authorization": "X",
  "transport": {"mode": "road", "departure_date": "2030-06-20"},
  "response_deadline": "2030-06-15"%s
}`

func preExportView(extra string, responses ...responseView) *noticeView {
	body := json.RawMessage(fmt.Sprintf(testPreExportBody, extra))
	return &noticeView{Type: "pre_export", Sender: "DE", Recipients: []string{"NL", "INT-INCB"}, Body: body, Responses: responses}
}

func resp(author, decision string, at time.Time, qty ...float64) responseView {
	r := responseView{Author: author, Decision: decision, created: at}
	if len(qty) > 0 {
		r.Quantity, r.Unit = &qty[0], "kg"
	}
	return r
}

func TestDeriveStatus(t *testing.T) {
	before := time.Date(2030, 6, 10, 12, 0, 0, 0, time.UTC)
	onDeadline := time.Date(2030, 6, 15, 23, 59, 59, 0, time.UTC)
	after := time.Date(2030, 6, 16, 0, 0, 1, 0, time.UTC)
	cases := []struct {
		name      string
		responses []responseView
		now       time.Time
		want      string
	}{
		{"new", nil, before, statusPending},
		{"acknowledged", []responseView{resp("NL", "acknowledged", before)}, before, statusAcknowledged},
		{"objection by the importer", []responseView{resp("NL", "objection", before)}, before, statusObjection},
		{"objection by another recipient does not count", []responseView{resp("INT-INCB", "objection", before)}, before, statusPending},
		{"silence past the deadline is no_response", nil, after, statusNoResponse},
		{"the deadline's last second is still on time", nil, onDeadline, statusPending},
		{"a late decision does not count", []responseView{resp("NL", "no_objection", after)}, after, statusNoResponse},
		{"a decision in time stays after the deadline", []responseView{resp("NL", "no_objection", before)}, after, statusNoObjection},
		{"final decisions are final", []responseView{resp("NL", "no_objection", before), resp("NL", "objection", before)}, before, statusNoObjection},
		{"info answers request_info", []responseView{resp("NL", "request_info", before), resp("DE", "info", before)}, before, statusAcknowledged},
		{"request_info", []responseView{resp("NL", "request_info", before)}, before, statusInfoRequested},
		{"cancelled", []responseView{resp("DE", "cancelled", before)}, after, statusCancelled},
		{"shipped after no_objection", []responseView{resp("NL", "no_objection", before), resp("DE", "shipped", before, 100)}, before, statusShipped},
		{"shipped after no_response", []responseView{resp("DE", "shipped", after, 100)}, after, statusShipped},
		{"shipped while pending does not count", []responseView{resp("DE", "shipped", before, 100)}, before, statusPending},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := preExportView("", tc.responses...)
			got, _ := deriveStatusFrom(schema.BodySummary(v.Type, v.Body), v.Sender, tc.responses, tc.now)
			if got != tc.want {
				t.Errorf("status %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDeriveStatusAmendedDeadline(t *testing.T) {
	at := time.Date(2030, 6, 10, 0, 0, 0, 0, time.UTC)
	amend := responseView{Author: "DE", Decision: "amended", Changes: json.RawMessage(`{"response_deadline":"2030-06-18"}`), created: at}
	v := preExportView("", amend)
	status, deadline := deriveStatusFrom(schema.BodySummary(v.Type, v.Body), v.Sender, v.Responses, time.Date(2030, 6, 17, 0, 0, 0, 0, time.UTC))
	if status != statusPending || deadline != "2030-06-18" {
		t.Errorf("after amending the deadline: %s %s, want pending 2030-06-18", status, deadline)
	}
}

// An amendment after the deadline passed without a decision gives the notice
// a new deadline (pending again); after a decision it changes nothing.
func TestDeriveStatusAmendAfterNoResponse(t *testing.T) {
	late := time.Date(2030, 6, 17, 0, 0, 0, 0, time.UTC)
	amend := responseView{Author: "DE", Decision: "amended", Changes: json.RawMessage(`{"response_deadline":"2030-06-25"}`), created: late}
	v := preExportView("", amend)
	if status, deadline := deriveStatusFrom(schema.BodySummary(v.Type, v.Body), v.Sender, v.Responses, late); status != statusPending || deadline != "2030-06-25" {
		t.Errorf("amended after no_response: %s %s, want pending 2030-06-25", status, deadline)
	}
	before := time.Date(2030, 6, 10, 0, 0, 0, 0, time.UTC)
	v = preExportView("", resp("NL", "objection", before), amend)
	if status, _ := deriveStatusFrom(schema.BodySummary(v.Type, v.Body), v.Sender, v.Responses, late); status != statusObjection {
		t.Errorf("amended after an objection: %s, want objection", status)
	}
}

func TestCheckTransition(t *testing.T) {
	now := time.Date(2030, 6, 10, 12, 0, 0, 0, time.UTC)
	q := func(v float64) *float64 { return &v }
	cases := []struct {
		name    string
		view    *noticeView
		author  string
		plain   schema.Response
		allowed bool
	}{
		{"recipient acknowledges", preExportView(""), "NL", schema.Response{Decision: "acknowledged"}, true},
		{"sender may not acknowledge", preExportView(""), "DE", schema.Response{Decision: "acknowledged"}, false},
		{"importer objects", preExportView(""), "NL", schema.Response{Decision: "objection", Reason: "r"}, true},
		{"secretariat may not object to a pre_export", preExportView(""), "INT-INCB", schema.Response{Decision: "objection", Reason: "r"}, false},
		{"sender may not object", preExportView(""), "DE", schema.Response{Decision: "objection", Reason: "r"}, false},
		{"no second final decision", preExportView("", resp("NL", "no_objection", now)), "NL", schema.Response{Decision: "objection", Reason: "r"}, false},
		{"info without request", preExportView(""), "DE", schema.Response{Decision: "info", Reason: "r"}, false},
		{"info after request", preExportView("", resp("NL", "request_info", now)), "DE", schema.Response{Decision: "info", Reason: "r"}, true},
		{"sender cancels", preExportView(""), "DE", schema.Response{Decision: "cancelled"}, true},
		{"recipient may not cancel", preExportView(""), "NL", schema.Response{Decision: "cancelled"}, false},
		{"shipped needs no_objection", preExportView(""), "DE", schema.Response{Decision: "shipped", Quantity: q(10), Unit: "kg"}, false},
		{"shipped after no_objection", preExportView("", resp("NL", "no_objection", now)), "DE", schema.Response{Decision: "shipped", Quantity: q(250), Unit: "kg"}, true},
		{"shipped in grams counts in kg", preExportView("", resp("NL", "no_objection", now)), "DE", schema.Response{Decision: "shipped", Quantity: q(250000), Unit: "g"}, true},
		{"shipped over the notified quantity", preExportView("", resp("NL", "no_objection", now)), "DE", schema.Response{Decision: "shipped", Quantity: q(251), Unit: "kg"}, false},
		{"second shipment of a single-shipment notice", preExportView("", resp("NL", "no_objection", now), resp("DE", "shipped", now, 100)), "DE", schema.Response{Decision: "shipped", Quantity: q(100), Unit: "kg"}, false},
		{"second shipment of a multi-shipment notice", preExportView(`, "valid_until": "2030-09-30"`, resp("NL", "no_objection", now), resp("DE", "shipped", now, 100)), "DE", schema.Response{Decision: "shipped", Quantity: q(100), Unit: "kg"}, true},
		{"multi-shipment total capped", preExportView(`, "valid_until": "2030-09-30"`, resp("NL", "no_objection", now), resp("DE", "shipped", now, 200)), "DE", schema.Response{Decision: "shipped", Quantity: q(100), Unit: "kg"}, false},
		{"sender amends", preExportView(""), "DE", schema.Response{Decision: "amended", Changes: json.RawMessage(`{"response_deadline":"2030-06-18"}`)}, true},
		{"amendment must stay valid", preExportView(""), "DE", schema.Response{Decision: "amended", Changes: json.RawMessage(`{"importer":{"country":"XX"}}`)}, false},
		{"no amendment after a decision", preExportView("", resp("NL", "objection", now)), "DE", schema.Response{Decision: "amended", Changes: json.RawMessage(`{"remarks":"x"}`)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := checkTransition(tc.view, tc.author, tc.plain, now)
			if (e == nil) != tc.allowed {
				t.Errorf("allowed=%v, got %v", tc.allowed, e)
			}
			if e != nil && e.Code != codeInvalidTransition && e.Code != codeValidationFailed {
				t.Errorf("code %q", e.Code)
			}
		})
	}
}
