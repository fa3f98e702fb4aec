package schema

import (
	"fmt"
	"strings"
	"time"
)

// checker applies the rules the validator's tags cannot express. It appends to errs and
// skips a rule when the field it reads already has a problem.
type checker struct {
	errs    FieldErrors
	now     time.Time
	badPath map[string]bool // fields of errs
}

func newChecker(errs FieldErrors, now time.Time) *checker {
	c := &checker{errs: errs, now: now, badPath: make(map[string]bool, len(errs))}
	for _, e := range errs {
		c.badPath[e.Field] = true
	}
	return c
}

func (c *checker) add(field, code, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Field: field, Code: code, Problem: fmt.Sprintf(format, args...)})
	c.badPath[field] = true
}

func (c *checker) bad(field string) bool { return c.badPath[field] }

// today is the UTC calendar day of now, as midnight.
func (c *checker) today() time.Time {
	y, m, d := c.now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (c *checker) preExport(b *PreExport) {
	for _, p := range []struct {
		path  string
		party Party
	}{{"body.exporter", b.Exporter}, {"body.importer", b.Importer}} {
		if !c.bad(p.path) && strings.TrimSpace(p.party.Address) == "" {
			c.add(p.path+".address", "required", "this field is required")
		}
	}
	if ValidCountry(b.Exporter.Country) && b.Exporter.Country == b.Importer.Country {
		c.add("body.importer.country", "same_country", "the importer is in the exporting country %q; a pre-export notification is for exports to another country", b.Importer.Country)
	}
	for i, it := range b.Items {
		p := fmt.Sprintf("body.items[%d]", i)
		if it.Quantity == nil {
			c.add(p+".quantity", "required", "this field is required")
		}
		if it.Unit == "" && it.Quantity == nil { // with a quantity, required_with reported it
			c.add(p+".unit", "required", "this field is required")
		}
		c.substance(p, it.Substance, it.CAS, it.Form, it.NonScheduled, true)
	}
	if b.Transport.Mode == "" {
		c.add("body.transport.mode", "required", "this field is required (sea, air, road, rail, post, courier or multimodal)")
	}
	if b.Transport.DepartureDate == "" {
		c.add("body.transport.departure_date", "required", "this field is required")
	}
	departure, depOK := parseDate(b.Transport.DepartureDate)
	if day, ok := parseDate(b.ResponseDeadline); ok {
		today := c.today()
		switch {
		case day.Before(today):
			c.add("body.response_deadline", "deadline_past",
				"the response deadline %s has passed (today is %s, UTC)", b.ResponseDeadline, today.Format(DateLayout))
		case !day.After(today):
			c.add("body.response_deadline", "deadline_past",
				"the response deadline %s is today; it must be a later day, to leave the importing authority time to answer", b.ResponseDeadline)
		case depOK && day.After(departure):
			c.add("body.response_deadline", "deadline_after_departure",
				"the response deadline %s is after the departure date %s; the importing authority must be able to answer before the goods leave",
				b.ResponseDeadline, b.Transport.DepartureDate)
		}
	}
	if until, ok := parseDate(b.ValidUntil); ok && depOK && until.Before(departure) {
		c.add("body.valid_until", "date_order", "valid_until %s is before the departure date %s", b.ValidUntil, b.Transport.DepartureDate)
	}
}

func (c *checker) incident(b *Incident) {
	c.notFuture("body.occurred_on", b.OccurredOn)
	for i, it := range b.Items {
		p := fmt.Sprintf("body.items[%d]", i)
		c.substance(p, it.Substance, it.CAS, it.Form, it.NonScheduled, false)
	}
	if strings.HasPrefix(b.Category, "online_") {
		switch {
		case b.Online == nil:
			c.add("body.online", "required", "an %s incident needs the online block (platform, url, account, contact, payment_method)", b.Category)
		case strings.TrimSpace(b.Online.Platform) == "" && strings.TrimSpace(b.Online.URL) == "":
			c.add("body.online", "required", "the online block needs at least the platform or the url")
		}
	}
}

func (c *checker) suspicious(b *SuspiciousTransaction) {
	c.notFuture("body.order.placed_on", b.Order.PlacedOn)
	for i, it := range b.Order.Items {
		p := fmt.Sprintf("body.order.items[%d]", i)
		c.substance(p, it.Substance, it.CAS, it.Form, it.NonScheduled, false)
	}
}

func (c *checker) alert(b *Alert) {
	for i, s := range b.Substances {
		p := fmt.Sprintf("body.substances[%d]", i)
		if strings.TrimSpace(s.Substance) == "" && s.CAS == "" {
			c.add(p+".substance", "required", "name the substance, or give its CAS number")
			continue
		}
		c.substance(p, s.Substance, s.CAS, "", s.NonScheduled, false)
	}
	if until, ok := ParseDeadline(b.ValidUntil); ok && !deadlineOpen(until, c.now) {
		c.add("body.valid_until", "date_past", "valid_until %s has already passed", b.ValidUntil)
	}
}

// notFuture rejects a date of an event later than tomorrow (UTC): a day of slack lets a
// focal point east of UTC write its local date.
func (c *checker) notFuture(path, date string) {
	if d, ok := parseDate(date); ok && d.After(c.today().Add(24*time.Hour)) {
		c.add(path, "future_date", "%s is in the future", date)
	}
}

// substance checks one substance reference at path (an item or an alert substance) against
// the catalogue: known by name, synonym or CAS; name and CAS agree; and outside the
// catalogue only when non_scheduled says so (never in a pre_export, where catalogued is
// true).
func (c *checker) substance(path, name, cas, form string, nonScheduled, catalogued bool) {
	namePath, casPath := path+".substance", path+".cas"
	if c.bad(namePath) {
		return
	}
	name = strings.TrimSpace(name)
	casUsable := cas != "" && !c.bad(casPath)
	var byCAS Substance
	var casKnown bool
	if casUsable {
		byCAS, casKnown = lookupCAS(cas)
	}
	if name == "" { // alert substance given by CAS only
		switch {
		case casKnown:
			c.scheduledFlag(path, byCAS, nonScheduled)
		case casUsable && !nonScheduled:
			c.add(casPath, "unknown_substance", "CAS number %s is not in Table I, Table II or the watched list; set non_scheduled: true if intended", cas)
		}
		return
	}
	byName, nameKnown := lookupName(name)
	if !nameKnown {
		// A CAS-shaped name counts as a CAS number.
		if casShape.MatchString(name) {
			if !ValidCAS(name) {
				c.add(namePath, "cas_checksum", "CAS number %s has a wrong check digit (expected %d)", name, casCheckDigit(name))
				return
			}
			byName, nameKnown = lookupCAS(name)
		}
	}
	switch {
	case nameKnown:
		if casUsable && casKnown && byCAS.Name != byName.Name {
			c.add(casPath, "cas_mismatch", "CAS number %s is %s, not %s%s", cas, byCAS.Name, byName.Name, casHint(byName))
		} else if casUsable && !casKnown && byName.CAS != "" && isBaseForm(form) {
			c.add(casPath, "cas_mismatch", "CAS number %s does not match %s (CAS %s); if a salt or preparation is meant, say so in form", cas, byName.Name, byName.CAS)
		}
		c.scheduledFlag(path, byName, nonScheduled)
	case casKnown:
		c.add(namePath, "unknown_substance", "unknown substance %q, but CAS number %s is %s (%s): use that name", name, cas, byCAS.Name, tableName(byCAS.Table))
	case catalogued:
		c.add(namePath, "unknown_substance", "unknown substance %q: not in Table I, Table II or the watched list; a pre-export notification is only for those%s", name, saltHint(name))
	case nonScheduled:
		// deliberately outside the catalogue
	default:
		c.add(namePath, "unknown_substance", "unknown substance %q: not in Table I, Table II or the watched list; set non_scheduled: true if intended%s", name, saltHint(name))
	}
}

// scheduledFlag rejects non_scheduled on a substance that is in Table I or II.
func (c *checker) scheduledFlag(path string, s Substance, nonScheduled bool) {
	if nonScheduled && (s.Table == TableI || s.Table == TableII) {
		c.add(path+".non_scheduled", "non_scheduled", "%s is in %s, so it is scheduled: remove non_scheduled", s.Name, tableName(s.Table))
	}
}

func casHint(s Substance) string {
	if s.CAS == "" {
		return ""
	}
	return " (CAS " + s.CAS + ")"
}

func isBaseForm(form string) bool { return form == "" || strings.EqualFold(form, "base") }

// saltSuffixes are salt words a focal point may append to a name instead of using form.
var saltSuffixes = []string{"hydrochloride", "hcl", "sulfate", "sulphate", "hydrobromide", "tartrate", "bitartrate", "maleate", "citrate", "phosphate", "salt"}

// saltHint suggests form when name is a catalogued substance followed by a salt word.
func saltHint(name string) string {
	fields := strings.Fields(name)
	if len(fields) < 2 {
		return ""
	}
	last := strings.ToLower(fields[len(fields)-1])
	for _, s := range saltSuffixes {
		if last == s {
			if base, ok := lookupName(strings.Join(fields[:len(fields)-1], " ")); ok {
				return fmt.Sprintf(" (for a salt, write substance %q and form %q)", base.Name, last)
			}
		}
	}
	return ""
}
