package schema

import "encoding/json"

// NoticeRequest is what a focal point posts to create a notice (SPEC §5):
//
//	{"id": "client UUID", "type": "pre_export", "recipients": ["NL"], "handling": "H0",
//	 "body": {...}}
//
// Get one from [DecodeNoticeRequest], which also decodes Body into the typed body of Type
// (see [NoticeRequest.Decoded]).
type NoticeRequest struct {
	// ID is the client id (a UUID) that makes a retry idempotent; optional.
	ID string `json:"id,omitempty"`
	// Type is one of [NoticeTypes].
	Type string `json:"type"`
	// Recipients are authority IDs (1 to [MaxRecipients], no duplicates), or ["*"] for an
	// alert to every active authority.
	Recipients []string `json:"recipients"`
	// Handling is "H0" (the default, filled in by decoding) to "H3".
	Handling string `json:"handling,omitempty"`
	// Body is the type's body exactly as sent; it is what gets sealed.
	Body json.RawMessage `json:"body"`

	decoded any // *PreExport, *Incident, *SuspiciousTransaction or *Alert; nil if Type is unknown
}

// Decoded returns the typed body: *PreExport, *Incident, *SuspiciousTransaction or *Alert,
// with defaults filled; nil when the request did not come from [DecodeNoticeRequest] or its
// type is unknown.
func (r *NoticeRequest) Decoded() any { return r.decoded }

// Notice is the plaintext sealed inside a notice entry (docs/protocol.md §2): the body, with
// the type, recipients and handling carried by the envelope header.
type Notice struct {
	Body json.RawMessage `json:"body"`
}

// Party is a company or person named in a pre_export notice: exporter, importer (both need an
// address), consignee or broker.
type Party struct {
	Name    string `json:"name" validate:"required,nonblank,max=512"`
	Address string `json:"address,omitempty" validate:"max=1024"`
	Country string `json:"country" validate:"required,country"`
}

// Item is one substance in a notice. In pre_export, quantity and unit are required and the
// substance must be in the catalogue; elsewhere an item outside the catalogue must say
// non_scheduled.
type Item struct {
	// Substance is a catalogue name, synonym or CAS number, or any name when NonScheduled.
	Substance string `json:"substance" validate:"required,nonblank,max=256"`
	// Form is "base" (the default), a salt ("hydrochloride") or "preparation".
	Form string `json:"form,omitempty" validate:"max=64"`
	// CAS is the CAS number of the substance in the form shipped; optional.
	CAS    string `json:"cas,omitempty" validate:"omitempty,cas"`
	HSCode string `json:"hs_code,omitempty" validate:"omitempty,hs_code"`
	// Quantity is > 0, in Unit.
	Quantity             *float64 `json:"quantity,omitempty" validate:"omitempty,gt=0"`
	Unit                 string   `json:"unit,omitempty" validate:"required_with=Quantity,omitempty,unit"`
	ConcentrationPercent *float64 `json:"concentration_percent,omitempty" validate:"omitempty,gt=0,lte=100"`
	Packaging            string   `json:"packaging,omitempty" validate:"max=1024"`
	// NonScheduled marks a substance outside the catalogue on purpose (not in pre_export).
	NonScheduled bool `json:"non_scheduled,omitempty"`
}

// Transport says how goods move. In pre_export, mode and departure_date are required.
type Transport struct {
	Mode          string   `json:"mode,omitempty" validate:"omitempty,oneof=sea air road rail post courier multimodal"`
	Route         []string `json:"route,omitempty" validate:"max=64,dive,country"`
	PointOfExit   string   `json:"point_of_exit,omitempty" validate:"max=256"`
	PointOfEntry  string   `json:"point_of_entry,omitempty" validate:"max=256"`
	DepartureDate string   `json:"departure_date,omitempty" validate:"omitempty,date"`
}

// PreExport is the body of a pre-export notification (1988 Convention, Art. 12(10)).
type PreExport struct {
	Exporter            Party     `json:"exporter" validate:"required"`
	Importer            Party     `json:"importer" validate:"required"`
	Consignee           *Party    `json:"consignee,omitempty"`
	Brokers             []Party   `json:"brokers,omitempty" validate:"max=32,dive"`
	Items               []Item    `json:"items" validate:"required,min=1,max=1000,dive"`
	ExportAuthorization string    `json:"export_authorization" validate:"required,nonblank,max=128"`
	ImportAuthorization string    `json:"import_authorization,omitempty" validate:"max=128"`
	Transport           Transport `json:"transport"`
	// ResponseDeadline is the last day (ending 23:59:59 UTC, see [ParseDeadline]) for the
	// importing authority to answer; a day after today (UTC) and on or before
	// Transport.DepartureDate.
	ResponseDeadline string `json:"response_deadline" validate:"required,date"`
	// ValidUntil is the last day of a multi-shipment notice; on or after the departure date.
	ValidUntil    string `json:"valid_until,omitempty" validate:"omitempty,date"`
	NotifyTransit bool   `json:"notify_transit,omitempty"`
	EndUse        string `json:"end_use,omitempty" validate:"max=4096"`
	Remarks       string `json:"remarks,omitempty" validate:"max=65536"`
	HandlingNote  string `json:"handling_note,omitempty" validate:"max=4096"`
}

// Location is where an incident happened.
type Location struct {
	Country string `json:"country" validate:"required,country"`
	Place   string `json:"place,omitempty" validate:"max=512"`
}

// Company is a company involved in an incident.
type Company struct {
	Name    string `json:"name" validate:"required,nonblank,max=512"`
	Country string `json:"country,omitempty" validate:"omitempty,country"`
	Role    string `json:"role,omitempty" validate:"max=128"`
}

// Online describes where an online offer or request was seen.
type Online struct {
	Platform      string `json:"platform,omitempty" validate:"max=256"`
	URL           string `json:"url,omitempty" validate:"max=4096"`
	Account       string `json:"account,omitempty" validate:"max=512"`
	Contact       string `json:"contact,omitempty" validate:"max=512"`
	PaymentMethod string `json:"payment_method,omitempty" validate:"max=256"`
}

// Incident is the body of an incident report (PICS-style).
type Incident struct {
	Category      string     `json:"category" validate:"required,oneof=seizure stopped_shipment suspended_shipment suspicious_shipment diversion attempted_diversion illicit_laboratory equipment online_offer online_request"`
	OccurredOn    string     `json:"occurred_on" validate:"required,date"`
	Location      Location   `json:"location" validate:"required"`
	Items         []Item     `json:"items" validate:"required,min=1,max=1000,dive"`
	Companies     []Company  `json:"companies,omitempty" validate:"max=256,dive"`
	Transport     *Transport `json:"transport,omitempty"`
	Online        *Online    `json:"online,omitempty"`
	Related       []string   `json:"related,omitempty" validate:"max=64,dive,uuid"`
	ModusOperandi string     `json:"modus_operandi" validate:"required,nonblank,max=65536"`
	ActionTaken   string     `json:"action_taken,omitempty" validate:"max=65536"`
	FollowUp      string     `json:"follow_up,omitempty" validate:"max=65536"`
	HandlingNote  string     `json:"handling_note,omitempty" validate:"max=4096"`
}

// Reporter is who reported a suspicious transaction to the authority.
type Reporter struct {
	Sector  string `json:"sector" validate:"required,oneof=platform manufacturer distributor broker carrier other"`
	Name    string `json:"name,omitempty" validate:"max=512"`
	Country string `json:"country" validate:"required,country"`
}

// Buyer is the buyer of a suspicious order.
type Buyer struct {
	Name    string `json:"name,omitempty" validate:"max=512"`
	Country string `json:"country,omitempty" validate:"omitempty,country"`
	Contact string `json:"contact,omitempty" validate:"max=512"`
}

// Order is the suspicious order itself.
type Order struct {
	PlacedOn        string `json:"placed_on" validate:"required,date"`
	Items           []Item `json:"items" validate:"required,min=1,max=1000,dive"`
	Buyer           *Buyer `json:"buyer,omitempty"`
	DeliveryCountry string `json:"delivery_country,omitempty" validate:"omitempty,country"`
	PaymentMethod   string `json:"payment_method,omitempty" validate:"max=256"`
	Platform        string `json:"platform,omitempty" validate:"max=256"`
	URL             string `json:"url,omitempty" validate:"max=4096"`
}

// SuspiciousTransaction is the body of a report of a suspicious order or enquiry, typically
// passed on by industry or an online platform.
type SuspiciousTransaction struct {
	ReportedBy   Reporter `json:"reported_by" validate:"required"`
	Order        Order    `json:"order" validate:"required"`
	Indicators   []string `json:"indicators" validate:"required,min=1,max=16,unique,dive,oneof=unusual_quantity no_plausible_end_use cash_or_crypto_payment inconsistent_end_user anonymous_contact repackaging_or_mislabelling_request new_customer_urgent shell_company other"`
	Narrative    string   `json:"narrative" validate:"required,nonblank,max=65536"`
	HandlingNote string   `json:"handling_note,omitempty" validate:"max=4096"`
}

// AlertSubstance is a substance an alert is about: by name, by CAS number, or both.
type AlertSubstance struct {
	Substance    string `json:"substance,omitempty" validate:"max=256"`
	CAS          string `json:"cas,omitempty" validate:"omitempty,cas"`
	NonScheduled bool   `json:"non_scheduled,omitempty"`
}

// Alert is the body of an alert (a special alert when it has valid_until).
type Alert struct {
	Title         string           `json:"title" validate:"required,nonblank,max=256"`
	Summary       string           `json:"summary" validate:"required,nonblank,max=65536"`
	Substances    []AlertSubstance `json:"substances,omitempty" validate:"max=1000,dive"`
	ModusOperandi string           `json:"modus_operandi,omitempty" validate:"max=65536"`
	ValidUntil    string           `json:"valid_until,omitempty" validate:"omitempty,date"`
	HandlingNote  string           `json:"handling_note,omitempty" validate:"max=4096"`
}
