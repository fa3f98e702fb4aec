package schema

import (
	"slices"
	"strings"
)

// Summary is what a node needs to know about a notice body in clear, for its status logic
// and its feed and console filters. It is computed from a decrypted body and must never be
// stored or shown where the body itself may not be.
type Summary struct {
	// Type is the notice type.
	Type string `json:"type"`
	// Substances are the catalogue names of the substances named (or the name as written for
	// one outside the catalogue), sorted, without duplicates.
	Substances []string `json:"substances,omitempty"`
	// Countries are every valid country code the body names (parties, location, route,
	// reporter, buyer, delivery), sorted, without duplicates.
	Countries []string `json:"countries,omitempty"`
	// Category is the incident category, the reporting sector of a suspicious transaction,
	// or "" for other types.
	Category string `json:"category,omitempty"`
	// Deadline is the pre_export response deadline (YYYY-MM-DD; see [ParseDeadline]).
	Deadline string `json:"deadline,omitempty"`
	// ImporterCountry is the pre_export importer's country: its authority decides.
	ImporterCountry string `json:"importer_country,omitempty"`
	// ExporterCountry is the pre_export exporter's country.
	ExporterCountry string `json:"exporter_country,omitempty"`
	// DepartureDate and ValidUntil are the pre_export dates (ValidUntil also for alerts).
	DepartureDate string `json:"departure_date,omitempty"`
	ValidUntil    string `json:"valid_until,omitempty"`
	// TotalQuantity is the sum of the items' quantities per base unit ("kg", "L", "units";
	// g and mL converted, see [NormalizeQuantity]): the ceiling for shipped responses.
	TotalQuantity map[string]float64 `json:"total_quantity,omitempty"`
}

// BodySummary decodes a body of type typ and summarises it. It does not validate: a body
// that does not decode gives a Summary with only Type set.
func BodySummary(typ string, body []byte) Summary {
	sum := Summary{Type: typ}
	v, err := DecodeBody(typ, body)
	if err != nil {
		return sum
	}
	var subs, countries []string
	country := func(cc ...string) {
		for _, c := range cc {
			if ValidCountry(c) {
				countries = append(countries, c)
			}
		}
	}
	substance := func(name, cas string) {
		if s, ok := lookupName(name); ok {
			subs = append(subs, s.Name)
		} else if s, ok := lookupCAS(cas); ok {
			subs = append(subs, s.Name)
		} else if s, ok := lookupCAS(name); ok {
			subs = append(subs, s.Name)
		} else if n := strings.TrimSpace(name); n != "" {
			subs = append(subs, n)
		} else if cas != "" {
			subs = append(subs, cas)
		}
	}
	items := func(its []Item) {
		for _, it := range its {
			substance(it.Substance, it.CAS)
		}
	}
	switch b := v.(type) {
	case *PreExport:
		items(b.Items)
		country(b.Exporter.Country, b.Importer.Country)
		if b.Consignee != nil {
			country(b.Consignee.Country)
		}
		for _, p := range b.Brokers {
			country(p.Country)
		}
		country(b.Transport.Route...)
		sum.Deadline = b.ResponseDeadline
		sum.ImporterCountry = b.Importer.Country
		sum.ExporterCountry = b.Exporter.Country
		sum.DepartureDate = b.Transport.DepartureDate
		sum.ValidUntil = b.ValidUntil
		for _, it := range b.Items {
			if it.Quantity == nil {
				continue
			}
			if q, u, ok := NormalizeQuantity(*it.Quantity, it.Unit); ok {
				if sum.TotalQuantity == nil {
					sum.TotalQuantity = make(map[string]float64)
				}
				sum.TotalQuantity[u] += q
			}
		}
	case *Incident:
		items(b.Items)
		country(b.Location.Country)
		for _, co := range b.Companies {
			country(co.Country)
		}
		if b.Transport != nil {
			country(b.Transport.Route...)
		}
		sum.Category = b.Category
	case *SuspiciousTransaction:
		items(b.Order.Items)
		country(b.ReportedBy.Country, b.Order.DeliveryCountry)
		if b.Order.Buyer != nil {
			country(b.Order.Buyer.Country)
		}
		sum.Category = b.ReportedBy.Sector
	case *Alert:
		for _, s := range b.Substances {
			substance(s.Substance, s.CAS)
		}
		sum.ValidUntil = b.ValidUntil
	}
	slices.Sort(subs)
	slices.Sort(countries)
	sum.Substances = slices.Compact(subs)
	sum.Countries = slices.Compact(countries)
	return sum
}
