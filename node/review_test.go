package node

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/penhub/penhub/schema"
)

// TestDeriveStatusIgnoresForgedDecisions: the log only checks that a
// response's author is a party to the notice, so a hostile recipient's node
// can append decisions that only the sender may take (cancelled, shipped,
// amended), and a hostile sender's node decisions only recipients take. They
// must not move the status.
func TestDeriveStatusIgnoresForgedDecisions(t *testing.T) {
	before := time.Date(2030, 6, 10, 12, 0, 0, 0, time.UTC)
	after := time.Date(2030, 6, 16, 0, 0, 1, 0, time.UTC)
	amend := func(author string) responseView {
		return responseView{Author: author, Decision: "amended", Changes: json.RawMessage(`{"response_deadline":"2030-06-30"}`), created: before}
	}
	cases := []struct {
		name      string
		responses []responseView
		now       time.Time
		want      string
	}{
		{"recipient cannot cancel", []responseView{resp("NL", "cancelled", before)}, before, statusPending},
		{"copy recipient cannot cancel", []responseView{resp("INT-INCB", "cancelled", before)}, before, statusPending},
		{"recipient cannot report a shipment", []responseView{resp("NL", "no_objection", before), resp("NL", "shipped", before, 10)}, before, statusNoObjection},
		{"recipient cannot amend the deadline away", []responseView{amend("NL")}, after, statusNoResponse},
		{"sender cannot acknowledge its own notice", []responseView{resp("DE", "acknowledged", before)}, before, statusPending},
		{"sender's own amendment counts", []responseView{amend("DE")}, after, statusPending},
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
	// Other notice types: a recipient cannot close an alert.
	alert := json.RawMessage(`{"title":"t","summary":"s"}`)
	if got, _ := deriveStatusFrom(schema.BodySummary("alert", alert), "DE", []responseView{resp("NL", "cancelled", before)}, before); got != statusOpen {
		t.Errorf("alert cancelled by a recipient: status %q, want open", got)
	}
}

// TestShippedQuantityCountsOnlySender: shipments forged by a recipient do not
// use up the notified quantity.
func TestShippedQuantityCountsOnlySender(t *testing.T) {
	at := time.Date(2030, 6, 10, 12, 0, 0, 0, time.UTC)
	v := preExportView(`, "valid_until": "2030-12-31"`, resp("NL", "no_objection", at), resp("NL", "shipped", at, 240))
	q := 100.0
	if e := checkTransition(v, "DE", responsePlain{Decision: "shipped", Quantity: &q, Unit: "kg"}, at); e != nil {
		t.Fatalf("shipping 100 of 250 kg with a forged 240 kg shipment by NL: %v", e)
	}
}
