package schema

import (
	"fmt"
	"strings"
	"testing"
)

type noticeCase struct {
	name string
	base string
	muts []mutation
	want []string // "field:code", empty when valid
}

func runNoticeCases(t *testing.T, cases []noticeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := mutate(t, tc.base, tc.muts...)
			req, err := DecodeNoticeRequest(data)
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, data)
			}
			check(t, ValidateNotice(req, testNow), want(tc.want...))
		})
	}
}

func TestValidateBasesAreValid(t *testing.T) {
	for typ, doc := range bases {
		req, err := DecodeNoticeRequest([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if errs := ValidateNotice(req, testNow); errs != nil {
			t.Errorf("%s: %s", typ, describeErrs(errs))
		}
	}
}

func TestValidateEnvelope(t *testing.T) {
	many := []any{"NL"}
	for i := range MaxRecipients {
		many = append(many, fmt.Sprintf("NL-A%d", i))
	}
	exactly := many[:MaxRecipients]
	pe, al := basePreExport, baseAlert
	runNoticeCases(t, []noticeCase{
		{"id uuid ok", pe, []mutation{set("id", "6F1C2A4E-8B1D-4C7E-9A52-3E0D6B7F9A10")}, nil},
		{"id absent ok", pe, []mutation{set("id", del)}, nil},
		{"id not uuid", pe, []mutation{set("id", "order-42")}, []string{"id:uuid"}},
		{"type missing", pe, []mutation{set("type", del)}, []string{"type:required"}},
		{"type unknown", pe, []mutation{set("type", "pre-export")}, []string{"type:notice_type"}},
		{"type unknown no body", pe, []mutation{set("type", "x"), set("body", del)}, []string{"type:notice_type", "body:required"}},
		{"body missing", pe, []mutation{set("body", del)}, []string{"body:required"}},
		{"body null", pe, []mutation{set("body", nil)}, []string{"body:required"}},
		{"recipients missing", pe, []mutation{set("recipients", del)}, []string{"recipients:required", "recipients:importer_not_recipient"}},
		{"recipients empty", al, []mutation{set("recipients", []any{})}, []string{"recipients:required"}},
		{"recipients agencies and int ok", pe, []mutation{set("recipients", []any{"NL", "NL-CUSTOMS", "INT-INCB", "DE-BKA2"})}, nil},
		{"recipients 256 ok", pe, []mutation{set("recipients", exactly)}, nil},
		{"recipients 257", pe, []mutation{set("recipients", many)}, []string{"recipients:too_many"}},
		{"recipient duplicate", pe, []mutation{set("recipients", []any{"NL", "DE-BKA", "NL"})}, []string{"recipients[2]:duplicate"}},
		{"recipient lower case", pe, []mutation{set("recipients", []any{"NL", "nl"})}, []string{"recipients[1]:authority_id"}},
		{"recipient alpha-3", pe, []mutation{set("recipients", []any{"NL", "NLD"})}, []string{"recipients[1]:authority_id"}},
		{"recipient bare INT", pe, []mutation{set("recipients", []any{"NL", "INT"})}, []string{"recipients[1]:authority_id"}},
		{"recipient empty suffix", pe, []mutation{set("recipients", []any{"NL", "NL-"})}, []string{"recipients[1]:authority_id"}},
		{"recipient lower suffix", pe, []mutation{set("recipients", []any{"NL", "NL-customs"})}, []string{"recipients[1]:authority_id"}},
		{"recipient suffix 16 ok", pe, []mutation{set("recipients", []any{"NL", "NL-ABCDEFGHIJKLMNOP"})}, nil},
		{"recipient suffix 17", pe, []mutation{set("recipients", []any{"NL", "NL-ABCDEFGHIJKLMNOPQ"})}, []string{"recipients[1]:authority_id"}},
		{"recipient INT suffix 17", pe, []mutation{set("recipients", []any{"NL", "INT-ABCDEFGHIJKLMNOPQ"})}, []string{"recipients[1]:authority_id"}},
		{"wildcard alert ok", al, nil, nil},
		{"wildcard not alone", al, []mutation{set("recipients", []any{"*", "NL"})}, []string{"recipients[0]:wildcard"}},
		{"wildcard after others", al, []mutation{set("recipients", []any{"NL", "*"})}, []string{"recipients[1]:wildcard"}},
		{"wildcard pre_export", pe, []mutation{set("recipients", []any{"*"})}, []string{"recipients[0]:wildcard", "recipients:importer_not_recipient"}},
		{"wildcard incident", baseIncident, []mutation{set("recipients", []any{"*"})}, []string{"recipients[0]:wildcard"}},
		{"handling default", pe, []mutation{set("handling", del)}, nil},
		{"handling H1 H2", pe, []mutation{set("handling", "H2")}, nil},
		{"handling H4", pe, []mutation{set("handling", "H4")}, []string{"handling:handling"}},
		{"handling lower", pe, []mutation{set("handling", "h1")}, []string{"handling:handling"}},
		{"H3 needs note", pe, []mutation{set("handling", "H3")}, []string{"body.handling_note:required"}},
		{"H3 blank note", al, []mutation{set("handling", "H3"), set("body.handling_note", "  ")}, []string{"body.handling_note:required"}},
		{"H3 with note pre_export", pe, []mutation{set("handling", "H3"), set("body.handling_note", "not for court")}, nil},
		{"H3 with note incident", baseIncident, []mutation{set("handling", "H3"), set("body.handling_note", "x")}, nil},
		{"H3 with note suspicious", baseSuspicious, []mutation{set("handling", "H3"), set("body.handling_note", "x")}, nil},
		{"H3 with note alert", al, []mutation{set("handling", "H3"), set("body.handling_note", "x")}, nil},
		{"note without H3 ok", pe, []mutation{set("body.handling_note", "x")}, nil},
	})
}

func TestValidatePreExport(t *testing.T) {
	pe := basePreExport
	long := strings.Repeat("x", 513)
	runNoticeCases(t, []noticeCase{
		// parties
		{"exporter missing", pe, []mutation{set("body.exporter", del)}, []string{"body.exporter:required"}},
		{"importer missing", pe, []mutation{set("body.importer", del)}, []string{"body.importer:required"}},
		{"exporter address missing", pe, []mutation{set("body.exporter.address", del)}, []string{"body.exporter.address:required"}},
		{"importer address missing", pe, []mutation{set("body.importer.address", "")}, []string{"body.importer.address:required"}},
		{"exporter name missing", pe, []mutation{set("body.exporter.name", del)}, []string{"body.exporter.name:required"}},
		{"exporter name blank", pe, []mutation{set("body.exporter.name", " \t")}, []string{"body.exporter.name:required"}},
		{"substance blank", pe, []mutation{set("body.items.0.substance", "  ")}, []string{"body.items[0].substance:required"}},
		{"exporter name too long", pe, []mutation{set("body.exporter.name", long)}, []string{"body.exporter.name:too_long"}},
		{"exporter country bad", pe, []mutation{set("body.exporter.country", "XX")}, []string{"body.exporter.country:country"}},
		{"exporter country lower", pe, []mutation{set("body.exporter.country", "de")}, []string{"body.exporter.country:country"}},
		{"exporter country alpha-3", pe, []mutation{set("body.exporter.country", "DEU")}, []string{"body.exporter.country:country"}},
		{"exporter country UK", pe, []mutation{set("body.exporter.country", "UK")}, []string{"body.exporter.country:country"}},
		{"exporter country GB", pe, []mutation{set("body.exporter.country", "GB")}, nil},
		{"importer country missing", pe, []mutation{set("body.importer.country", del)}, []string{"body.importer.country:required"}},
		{"same country", pe, []mutation{set("body.exporter.country", "NL")}, []string{"body.importer.country:same_country"}},
		{"importer not recipient", pe, []mutation{set("recipients", []any{"NL-CUSTOMS"})}, []string{"recipients:importer_not_recipient"}},
		{"importer not recipient other", pe, []mutation{set("body.importer.country", "BE")}, []string{"recipients:importer_not_recipient"}},
		{"importer BE recipient BE", pe, []mutation{set("body.importer.country", "BE"), set("recipients", []any{"BE", "NL"})}, nil},
		{"consignee ok", pe, []mutation{set("body.consignee", map[string]any{"name": "Plant", "country": "NL"})}, nil},
		{"consignee bad country", pe, []mutation{set("body.consignee", map[string]any{"name": "Plant", "country": "N1"})}, []string{"body.consignee.country:country"}},
		{"brokers ok", pe, []mutation{set("body.brokers", []any{map[string]any{"name": "B", "country": "CH"}})}, nil},
		{"broker no name", pe, []mutation{set("body.brokers", []any{map[string]any{"country": "CH"}})}, []string{"body.brokers[0].name:required"}},
		// items and the catalogue
		{"items missing", pe, []mutation{set("body.items", del)}, []string{"body.items:required"}},
		{"items empty", pe, []mutation{set("body.items", []any{})}, []string{"body.items:required"}},
		{"substance missing", pe, []mutation{set("body.items.1.substance", del)}, []string{"body.items[1].substance:required"}},
		{"synonym BMK", pe, []mutation{set("body.items.1.substance", "BMK")}, nil},
		{"synonym P-2-P", pe, []mutation{set("body.items.1.substance", "P-2-P")}, nil},
		{"synonym p2p", pe, []mutation{set("body.items.1.substance", "p2p")}, nil},
		{"synonym phenylacetone", pe, []mutation{set("body.items.1.substance", "Phenylacetone")}, nil},
		{"name case punct", pe, []mutation{set("body.items.1.substance", "ACETIC-ANHYDRIDE")}, nil},
		{"substance as CAS", pe, []mutation{set("body.items.1.substance", "108-24-7")}, nil},
		{"substance as bad CAS", pe, []mutation{set("body.items.1.substance", "108-24-8")}, []string{"body.items[1].substance:cas_checksum"}},
		{"substance as unknown CAS", pe, []mutation{set("body.items.1.substance", "50-00-0")}, []string{"body.items[1].substance:unknown_substance"}},
		{"watched substance ok", pe, []mutation{set("body.items.1.substance", "Nitroethane")}, nil},
		{"unknown substance", pe, []mutation{set("body.items.1.substance", "Unobtainium")}, []string{"body.items[1].substance:unknown_substance"}},
		{"unknown substance non_scheduled", pe, []mutation{set("body.items.1.substance", "Unobtainium"), set("body.items.1.non_scheduled", true)}, []string{"body.items[1].substance:unknown_substance"}},
		{"non_scheduled on Table I", pe, []mutation{set("body.items.1.non_scheduled", true)}, []string{"body.items[1].non_scheduled:non_scheduled"}},
		{"cas matches", pe, []mutation{set("body.items.1.cas", "108-24-7")}, nil},
		{"cas check digit", pe, []mutation{set("body.items.0.cas", "90-82-5")}, []string{"body.items[0].cas:cas_checksum"}},
		{"cas shape", pe, []mutation{set("body.items.0.cas", "9082-4")}, []string{"body.items[0].cas:cas_format"}},
		{"cas leading zero", pe, []mutation{set("body.items.0.cas", "090-82-4")}, []string{"body.items[0].cas:cas_format"}},
		{"cas of other entry", pe, []mutation{set("body.items.1.cas", "67-64-1")}, []string{"body.items[1].cas:cas_mismatch"}},
		{"cas of other entry salt", pe, []mutation{set("body.items.1.cas", "67-64-1"), set("body.items.1.form", "preparation")}, []string{"body.items[1].cas:cas_mismatch"}},
		{"cas unknown base", pe, []mutation{set("body.items.0.cas", "345-78-8")}, []string{"body.items[0].cas:cas_mismatch"}},
		{"cas unknown salt ok", pe, []mutation{set("body.items.0.cas", "345-78-8"), set("body.items.0.form", "hydrochloride")}, nil},
		{"unknown name known cas", pe, []mutation{set("body.items.1.substance", "Essigsäureanhydrid"), set("body.items.1.cas", "108-24-7")}, []string{"body.items[1].substance:unknown_substance"}},
		{"entry without cas any cas", pe, []mutation{set("body.items.1.substance", "P-2-P methyl glycidic acid, propyl ester"), set("body.items.1.cas", "50-00-0")}, nil},
		// hs codes
		{"hs 4", pe, []mutation{set("body.items.0.hs_code", "2939")}, nil},
		{"hs 8", pe, []mutation{set("body.items.0.hs_code", "2939.42.00")}, nil},
		{"hs 10", pe, []mutation{set("body.items.0.hs_code", "2933.39.9073")}, nil},
		{"hs undotted", pe, []mutation{set("body.items.0.hs_code", "29394200")}, []string{"body.items[0].hs_code:hs_code"}},
		{"hs 5", pe, []mutation{set("body.items.0.hs_code", "2939.4")}, []string{"body.items[0].hs_code:hs_code"}},
		{"hs 3", pe, []mutation{set("body.items.0.hs_code", "293")}, []string{"body.items[0].hs_code:hs_code"}},
		{"hs 7", pe, []mutation{set("body.items.0.hs_code", "2939.42.0")}, []string{"body.items[0].hs_code:hs_code"}},
		{"hs dashes", pe, []mutation{set("body.items.0.hs_code", "2939-42")}, []string{"body.items[0].hs_code:hs_code"}},
		// quantities and units
		{"unit g", pe, []mutation{set("body.items.0.unit", "g")}, nil},
		{"unit mL", pe, []mutation{set("body.items.1.unit", "mL")}, nil},
		{"unit units", pe, []mutation{set("body.items.0.unit", "units")}, nil},
		{"unit lb", pe, []mutation{set("body.items.0.unit", "lb")}, []string{"body.items[0].unit:unit"}},
		{"unit KG", pe, []mutation{set("body.items.0.unit", "KG")}, []string{"body.items[0].unit:unit"}},
		{"unit l", pe, []mutation{set("body.items.1.unit", "l")}, []string{"body.items[1].unit:unit"}},
		{"unit missing", pe, []mutation{set("body.items.0.unit", del)}, []string{"body.items[0].unit:required"}},
		{"quantity missing", pe, []mutation{set("body.items.0.quantity", del)}, []string{"body.items[0].quantity:required"}},
		{"quantity and unit missing", pe, []mutation{set("body.items.0.quantity", del), set("body.items.0.unit", del)}, []string{"body.items[0].quantity:required", "body.items[0].unit:required"}},
		{"quantity zero", pe, []mutation{set("body.items.0.quantity", 0)}, []string{"body.items[0].quantity:quantity"}},
		{"quantity negative", pe, []mutation{set("body.items.0.quantity", -5)}, []string{"body.items[0].quantity:quantity"}},
		{"quantity tiny ok", pe, []mutation{set("body.items.0.quantity", 0.001)}, nil},
		{"concentration ok", pe, []mutation{set("body.items.0.concentration_percent", 100)}, nil},
		{"concentration zero", pe, []mutation{set("body.items.0.concentration_percent", 0)}, []string{"body.items[0].concentration_percent:percent"}},
		{"concentration over", pe, []mutation{set("body.items.0.concentration_percent", 100.5)}, []string{"body.items[0].concentration_percent:percent"}},
		// authorisation and transport
		{"export authorization missing", pe, []mutation{set("body.export_authorization", del)}, []string{"body.export_authorization:required"}},
		{"transport missing", pe, []mutation{set("body.transport", del)}, []string{"body.transport.mode:required", "body.transport.departure_date:required"}},
		{"transport mode air", pe, []mutation{set("body.transport.mode", "air")}, nil},
		{"transport mode bad", pe, []mutation{set("body.transport.mode", "boat")}, []string{"body.transport.mode:enum"}},
		{"route bad country", pe, []mutation{set("body.transport.route", []any{"DE", "XY", "NL"})}, []string{"body.transport.route[1]:country"}},
		{"departure bad date", pe, []mutation{set("body.transport.departure_date", "20.06.2030")}, []string{"body.transport.departure_date:date"}},
		// dates
		{"deadline missing", pe, []mutation{set("body.response_deadline", del)}, []string{"body.response_deadline:required"}},
		{"deadline bad format", pe, []mutation{set("body.response_deadline", "2030-6-15")}, []string{"body.response_deadline:date"}},
		{"deadline impossible day", pe, []mutation{set("body.response_deadline", "2030-02-30")}, []string{"body.response_deadline:date"}},
		{"deadline yesterday", pe, []mutation{set("body.response_deadline", "2029-12-31")}, []string{"body.response_deadline:deadline_past"}},
		{"deadline today", pe, []mutation{set("body.response_deadline", "2030-01-01")}, []string{"body.response_deadline:deadline_past"}},
		{"deadline tomorrow ok", pe, []mutation{set("body.response_deadline", "2030-01-02")}, nil},
		{"deadline on departure ok", pe, []mutation{set("body.response_deadline", "2030-06-20")}, nil},
		{"deadline after departure", pe, []mutation{set("body.response_deadline", "2030-06-21")}, []string{"body.response_deadline:deadline_after_departure"}},
		{"valid_until ok", pe, []mutation{set("body.valid_until", "2030-12-31")}, nil},
		{"valid_until before departure", pe, []mutation{set("body.valid_until", "2030-06-19")}, []string{"body.valid_until:date_order"}},
		{"valid_until bad", pe, []mutation{set("body.valid_until", "soon")}, []string{"body.valid_until:date"}},
		// everything at once
		{"all at once", pe, []mutation{
			set("body.items.0.cas", "90-82-5"), set("body.items.1.substance", "Unobtainium"),
			set("body.exporter.country", "XX"), set("body.items.0.quantity", -1),
			set("body.response_deadline", "2029-01-01"), set("recipients", []any{"NL", "NL"}),
		}, []string{"body.items[0].cas:cas_checksum", "body.items[1].substance:unknown_substance",
			"body.exporter.country:country", "body.items[0].quantity:quantity",
			"body.response_deadline:deadline_past", "recipients[1]:duplicate"}},
	})
}

func TestValidateIncident(t *testing.T) {
	in := baseIncident
	online := map[string]any{"platform": "market.test", "url": "hxxps://market.test/1"}
	runNoticeCases(t, []noticeCase{
		{"category missing", in, []mutation{set("body.category", del)}, []string{"body.category:required"}},
		{"category bad", in, []mutation{set("body.category", "theft")}, []string{"body.category:enum"}},
		{"online_offer without online", in, []mutation{set("body.category", "online_offer")}, []string{"body.online:required"}},
		{"online_request without online", in, []mutation{set("body.category", "online_request")}, []string{"body.online:required"}},
		{"online_offer empty online", in, []mutation{set("body.category", "online_offer"), set("body.online", map[string]any{"account": "x"})}, []string{"body.online:required"}},
		{"online_offer with online", in, []mutation{set("body.category", "online_offer"), set("body.online", online)}, nil},
		{"online_request url only", in, []mutation{set("body.category", "online_request"), set("body.online", map[string]any{"url": "x"})}, nil},
		{"online on seizure ok", in, []mutation{set("body.online", online)}, nil},
		{"occurred_on missing", in, []mutation{set("body.occurred_on", del)}, []string{"body.occurred_on:required"}},
		{"occurred_on bad", in, []mutation{set("body.occurred_on", "yesterday")}, []string{"body.occurred_on:date"}},
		{"occurred_on tomorrow ok", in, []mutation{set("body.occurred_on", "2030-01-02")}, nil},
		{"occurred_on future", in, []mutation{set("body.occurred_on", "2030-01-03")}, []string{"body.occurred_on:future_date"}},
		{"location missing", in, []mutation{set("body.location", del)}, []string{"body.location:required"}},
		{"location country missing", in, []mutation{set("body.location.country", del)}, []string{"body.location.country:required"}},
		{"location country bad", in, []mutation{set("body.location.country", "Netherlands")}, []string{"body.location.country:country"}},
		{"items missing", in, []mutation{set("body.items", del)}, []string{"body.items:required"}},
		{"item without quantity ok", in, []mutation{set("body.items.0.quantity", del), set("body.items.0.unit", del)}, nil},
		{"item quantity without unit", in, []mutation{set("body.items.0.unit", del)}, []string{"body.items[0].unit:required"}},
		{"item unknown", in, []mutation{set("body.items.0.substance", "1-Phenyl-2-nitropropene")}, []string{"body.items[0].substance:unknown_substance"}},
		{"item unknown non_scheduled", in, []mutation{set("body.items.0.substance", "1-Phenyl-2-nitropropene"), set("body.items.0.non_scheduled", true)}, nil},
		{"item unknown non_scheduled cas", in, []mutation{set("body.items.0.substance", "P2NP"), set("body.items.0.cas", "705-60-2"), set("body.items.0.non_scheduled", true)}, nil},
		{"item non_scheduled with catalogued cas", in, []mutation{set("body.items.0.substance", "P2NP"), set("body.items.0.cas", "103-79-7"), set("body.items.0.non_scheduled", true)}, []string{"body.items[0].substance:unknown_substance"}},
		{"item watched non_scheduled ok", in, []mutation{set("body.items.0.substance", "Methylamine"), set("body.items.0.non_scheduled", true)}, nil},
		{"item Table II non_scheduled", in, []mutation{set("body.items.0.substance", "MEK"), set("body.items.0.non_scheduled", true)}, []string{"body.items[0].non_scheduled:non_scheduled"}},
		{"item cas mismatch", in, []mutation{set("body.items.0.cas", "4433-77-6")}, []string{"body.items[0].cas:cas_mismatch"}},
		{"modus_operandi missing", in, []mutation{set("body.modus_operandi", del)}, []string{"body.modus_operandi:required"}},
		{"related bad", in, []mutation{set("body.related", []any{"DE-2030-000001"})}, []string{"body.related[0]:uuid"}},
		{"company no name", in, []mutation{set("body.companies.0.name", del)}, []string{"body.companies[0].name:required"}},
		{"company bad country", in, []mutation{set("body.companies.0.country", "hk")}, []string{"body.companies[0].country:country"}},
		{"company without country ok", in, []mutation{set("body.companies.0.country", del)}, nil},
		{"transport optional bad route", in, []mutation{set("body.transport", map[string]any{"route": []any{"CN", "Q1"}})}, []string{"body.transport.route[1]:country"}},
		{"transport optional ok", in, []mutation{set("body.transport", map[string]any{"mode": "sea", "route": []any{"CN", "NL"}})}, nil},
	})
}

func TestValidateSuspicious(t *testing.T) {
	st := baseSuspicious
	runNoticeCases(t, []noticeCase{
		{"reported_by missing", st, []mutation{set("body.reported_by", del)}, []string{"body.reported_by:required"}},
		{"sector missing", st, []mutation{set("body.reported_by.sector", del)}, []string{"body.reported_by.sector:required"}},
		{"sector bad", st, []mutation{set("body.reported_by.sector", "bank")}, []string{"body.reported_by.sector:enum"}},
		{"reporter country missing", st, []mutation{set("body.reported_by.country", del)}, []string{"body.reported_by.country:required"}},
		{"order missing", st, []mutation{set("body.order", del)}, []string{"body.order:required"}},
		{"placed_on missing", st, []mutation{set("body.order.placed_on", del)}, []string{"body.order.placed_on:required"}},
		{"placed_on future", st, []mutation{set("body.order.placed_on", "2031-01-01")}, []string{"body.order.placed_on:future_date"}},
		{"order items empty", st, []mutation{set("body.order.items", []any{})}, []string{"body.order.items:required"}},
		{"order item unknown", st, []mutation{set("body.order.items.0.substance", "wheel cleaner")}, []string{"body.order.items[0].substance:unknown_substance"}},
		{"order item cas bad", st, []mutation{set("body.order.items.0.cas", "96-48-1")}, []string{"body.order.items[0].cas:cas_checksum"}},
		{"buyer country bad", st, []mutation{set("body.order.buyer.country", "AUS")}, []string{"body.order.buyer.country:country"}},
		{"delivery country bad", st, []mutation{set("body.order.delivery_country", "ZZ")}, []string{"body.order.delivery_country:country"}},
		{"indicators missing", st, []mutation{set("body.indicators", del)}, []string{"body.indicators:required"}},
		{"indicators empty", st, []mutation{set("body.indicators", []any{})}, []string{"body.indicators:required"}},
		{"indicator unknown", st, []mutation{set("body.indicators", []any{"unusual_quantity", "weird"})}, []string{"body.indicators[1]:enum"}},
		{"indicator duplicate", st, []mutation{set("body.indicators", []any{"other", "other"})}, []string{"body.indicators:duplicate"}},
		{"all indicators", st, []mutation{set("body.indicators", []any{"unusual_quantity", "no_plausible_end_use", "cash_or_crypto_payment", "inconsistent_end_user", "anonymous_contact", "repackaging_or_mislabelling_request", "new_customer_urgent", "shell_company", "other"})}, nil},
		{"narrative missing", st, []mutation{set("body.narrative", "")}, []string{"body.narrative:required"}},
		{"narrative blank", st, []mutation{set("body.narrative", "\n ")}, []string{"body.narrative:required"}},
	})
}

func TestValidateAlert(t *testing.T) {
	al := baseAlert
	runNoticeCases(t, []noticeCase{
		{"to named recipients ok", al, []mutation{set("recipients", []any{"NL", "DE"})}, nil},
		{"title missing", al, []mutation{set("body.title", del)}, []string{"body.title:required"}},
		{"summary missing", al, []mutation{set("body.summary", del)}, []string{"body.summary:required"}},
		{"no substances ok", al, []mutation{set("body.substances", del)}, nil},
		{"substance empty", al, []mutation{set("body.substances", []any{map[string]any{}})}, []string{"body.substances[0].substance:required"}},
		{"cas unknown", al, []mutation{set("body.substances", []any{map[string]any{"cas": "705-60-2"}})}, []string{"body.substances[0].cas:unknown_substance"}},
		{"cas unknown non_scheduled", al, []mutation{set("body.substances", []any{map[string]any{"cas": "705-60-2", "non_scheduled": true}})}, nil},
		{"cas bad", al, []mutation{set("body.substances", []any{map[string]any{"cas": "705-60-3"}})}, []string{"body.substances[0].cas:cas_checksum"}},
		{"name and cas disagree", al, []mutation{set("body.substances", []any{map[string]any{"substance": "PMK", "cas": "103-79-7"}})}, []string{"body.substances[0].cas:cas_mismatch"}},
		{"valid_until past", al, []mutation{set("body.valid_until", "2029-12-31")}, []string{"body.valid_until:date_past"}},
		{"valid_until today ok", al, []mutation{set("body.valid_until", "2030-01-01")}, nil},
		{"valid_until bad", al, []mutation{set("body.valid_until", "2030-12")}, []string{"body.valid_until:date"}},
	})
}

func TestValidateNoticeBodyPaths(t *testing.T) {
	body := mutate(t, `{"b":`+basePreExport+`}`, set("b.body.items.0.cas", "90-82-5"))
	var doc struct {
		B struct {
			Body jsonRaw `json:"body"`
		} `json:"b"`
	}
	mustUnmarshal(t, body, &doc)
	check(t, ValidateNoticeBody(TypePreExport, doc.B.Body, testNow), want("body.items[0].cas:cas_checksum"))
	check(t, ValidateNoticeBody(TypePreExport, []byte(`{"exporter":1}`), testNow), want("body.exporter:bad_request"))
	check(t, ValidateNoticeBody("memo", []byte(`{}`), testNow), want("type:notice_type"))
	// Re-validation at the notice's creation time accepts a deadline that has passed since.
	valid := extractBody(t, basePreExport)
	if errs := ValidateNoticeBody(TypePreExport, valid, testNow); errs != nil {
		t.Fatal(errs)
	}
	later := testNow.AddDate(1, 0, 0)
	check(t, ValidateNoticeBody(TypePreExport, valid, later), want("body.response_deadline:deadline_past"))
}

func TestValidateNoticeWithoutDecode(t *testing.T) {
	req := &NoticeRequest{Type: TypeAlert, Recipients: []string{"*"}, Body: extractBody(t, baseAlert)}
	if errs := ValidateNotice(req, testNow); errs != nil {
		t.Fatal(errs)
	}
	req.Body = []byte(`{"title":"x","summary":"y","extra":1}`)
	check(t, ValidateNotice(req, testNow), want("body.extra:bad_request"))
}

func TestProblemsInPlainEnglish(t *testing.T) {
	data := mutate(t, basePreExport, set("body.items.0.cas", "103-79-8"), set("body.items.0.substance", "BMK"),
		set("body.items.1.substance", "Unobtainium"))
	req, err := DecodeNoticeRequest(data)
	if err != nil {
		t.Fatal(err)
	}
	errs := ValidateNotice(req, testNow)
	wantProblems := map[string]string{
		"body.items[0].cas":       "CAS number 103-79-8 has a wrong check digit (expected 7)",
		"body.items[1].substance": `unknown substance "Unobtainium": not in Table I, Table II or the watched list; a pre-export notification is only for those`,
	}
	for _, e := range errs {
		if w, ok := wantProblems[e.Field]; ok && e.Problem != w {
			t.Errorf("%s: problem %q, want %q", e.Field, e.Problem, w)
		}
		delete(wantProblems, e.Field)
	}
	if len(wantProblems) > 0 {
		t.Errorf("missing problems %v in %s", wantProblems, describeErrs(errs))
	}
	// Outside pre_export the message says how to mean it.
	data = mutate(t, baseIncident, set("body.items.0.substance", "Unobtainium"))
	req, _ = DecodeNoticeRequest(data)
	errs = ValidateNotice(req, testNow)
	if len(errs) != 1 || errs[0].Problem != `unknown substance "Unobtainium": not in Table I, Table II or the watched list; set non_scheduled: true if intended` {
		t.Errorf("got %s", describeErrs(errs))
	}
	if s := errs.Error(); !strings.Contains(s, "body.items[0].substance: unknown substance") {
		t.Errorf("FieldErrors.Error() = %q", s)
	}
}

func TestProblemsInFieldOrder(t *testing.T) {
	data := mutate(t, basePreExport,
		set("id", "x"), set("recipients", []any{"NL", "NL"}), set("handling", "H3"),
		set("body.exporter.country", "XX"), set("body.importer.address", del),
		set("body.items.0.cas", "90-82-5"), set("body.items.0.quantity", -1),
		set("body.items.1.substance", "Unobtainium"), set("body.items.1.unit", "lb"),
		set("body.transport.mode", "boat"), set("body.response_deadline", "2029-01-01"),
		set("body.valid_until", "2030-01-01"))
	req, err := DecodeNoticeRequest(data)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, e := range ValidateNotice(req, testNow) {
		fields = append(fields, e.Field)
	}
	wantFields := []string{
		"id", "recipients[1]",
		"body.exporter.country", "body.importer.address",
		"body.items[0].cas", "body.items[0].quantity",
		"body.items[1].substance", "body.items[1].unit",
		"body.transport.mode", "body.response_deadline", "body.valid_until", "body.handling_note",
	}
	if strings.Join(fields, " ") != strings.Join(wantFields, " ") {
		t.Errorf("order:\n got  %q\n want %q", fields, wantFields)
	}
	if k := pathKey(`body["odd key"].x`, nil); len(k) == 0 {
		t.Error("no key for an odd path")
	}
}
