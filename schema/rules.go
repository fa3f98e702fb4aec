package schema

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Notice types, in the order of SPEC §5.
const (
	TypePreExport             = "pre_export"
	TypeIncident              = "incident"
	TypeSuspiciousTransaction = "suspicious_transaction"
	TypeAlert                 = "alert"
)

// Everyone is the only recipient an alert may name instead of a list: every active
// authority but the sender. The proposing node expands it before sealing.
const Everyone = "*"

// MaxRecipients is the most recipients a notice may name.
const MaxRecipients = 256

// DateLayout is the layout of every date in a body (YYYY-MM-DD, a UTC calendar day).
const DateLayout = "2006-01-02"

var (
	noticeTypes = []string{TypePreExport, TypeIncident, TypeSuspiciousTransaction, TypeAlert}
	decisions   = []string{"acknowledged", "no_objection", "objection", "request_info", "info", "amended", "cancelled", "shipped"}
	handlings   = []string{"H0", "H1", "H2", "H3"}
	units       = []string{"kg", "g", "L", "mL", "units"}
)

// NoticeTypes returns the notice types: pre_export, incident, suspicious_transaction, alert.
func NoticeTypes() []string { return slices.Clone(noticeTypes) }

// Decisions returns the response decisions of SPEC §5.2, in the order of its table.
func Decisions() []string { return slices.Clone(decisions) }

// Units returns the quantity units: kg, g, L, mL, units.
func Units() []string { return slices.Clone(units) }

// HandlingCode returns the envelope's handling byte (0–3) for "H0"–"H3"; "" counts as H0.
func HandlingCode(h string) (uint8, bool) {
	if h == "" {
		return 0, true
	}
	i := slices.Index(handlings, h)
	if i < 0 {
		return 0, false
	}
	return uint8(i), true
}

var (
	casShape       = regexp.MustCompile(`^[1-9][0-9]{1,6}-[0-9]{2}-[0-9]$`)
	hsShape        = regexp.MustCompile(`^[0-9]{4}(\.[0-9]{2}(\.[0-9]{2,4})?)?$`)
	authorityShape = regexp.MustCompile(`^(?:[A-Z]{2}(?:-[A-Z0-9]{1,16})?|INT-[A-Z0-9]{1,16})$`)
)

// casCheckDigit returns the check digit a CAS number of valid shape should end in: the sum
// of the other digits, each multiplied by its position counted from the right starting at 1,
// modulo 10.
func casCheckDigit(cas string) int {
	digits := strings.ReplaceAll(cas[:len(cas)-2], "-", "")
	sum := 0
	for i := range len(digits) {
		sum += (len(digits) - i) * int(digits[i]-'0')
	}
	return sum % 10
}

// ValidCAS reports whether s is a CAS registry number ("103-79-7": 2–7 digits without a
// leading zero, 2 digits, 1 check digit) whose check digit is right.
func ValidCAS(s string) bool {
	return casShape.MatchString(s) && casCheckDigit(s) == int(s[len(s)-1]-'0')
}

// validHSCode reports whether s is a Harmonized System code of 4, 6, 8, 9 or 10 digits,
// dotted after the 4th and the 6th digit: "2939", "2939.42", "2939.42.00", "2933.39.9073".
func validHSCode(s string) bool { return hsShape.MatchString(s) }

// ValidAuthorityID reports whether s has the shape of an authority ID: a country code with an
// optional agency suffix ("DE", "NL-CUSTOMS") or an international body ("INT-INCB"). It does
// not say whether the authority exists; the directory does.
func ValidAuthorityID(s string) bool { return authorityShape.MatchString(s) }

// parseDate parses a YYYY-MM-DD date as midnight UTC.
func parseDate(s string) (time.Time, bool) {
	if len(s) != len(DateLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(DateLayout, s)
	return t, err == nil
}

// ParseDeadline returns the instant a date-only deadline passes: 23:59:59 UTC of its day.
// A deadline is still open at that instant and passed one second later.
func ParseDeadline(date string) (time.Time, bool) {
	t, ok := parseDate(date)
	if !ok {
		return time.Time{}, false
	}
	return t.Add(24*time.Hour - time.Second), true
}

// deadlineOpen reports whether a deadline on date has not passed at now.
func deadlineOpen(deadline time.Time, now time.Time) bool { return !now.After(deadline) }

// NormalizeQuantity converts a quantity to its base unit, so quantities of one substance can
// be added and compared: g → kg, mL → L; kg, L and units are unchanged. ok is false for an
// unknown unit.
func NormalizeQuantity(q float64, unit string) (float64, string, bool) {
	switch unit {
	case "kg", "L", "units":
		return q, unit, true
	case "g":
		return q / 1000, "kg", true
	case "mL":
		return q / 1000, "L", true
	}
	return 0, "", false
}

// formatNumber prints a quantity the way a person wrote it (no exponent for usual values).
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
