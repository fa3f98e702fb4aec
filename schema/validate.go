package schema

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
)

// validate is the one validator instance of the package (it caches struct metadata, so it is
// built once). Besides validator's built-in tags it knows: country, cas, hs_code, unit, date.
var validate = newValidator()

var uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	str := func(ok func(string) bool) validator.Func {
		return func(fl validator.FieldLevel) bool { return ok(fl.Field().String()) }
	}
	for tag, fn := range map[string]validator.Func{
		"country":  str(ValidCountry),
		"cas":      str(ValidCAS),
		"hs_code":  str(validHSCode),
		"unit":     str(func(s string) bool { return slices.Contains(units, s) }),
		"date":     str(func(s string) bool { _, ok := parseDate(s); return ok }),
		"nonblank": str(func(s string) bool { return strings.TrimSpace(s) != "" }),
	} {
		if err := v.RegisterValidation(tag, fn); err != nil {
			panic(fmt.Sprintf("schema: registering validation %q: %v", tag, err))
		}
	}
	return v
}

// ValidateNotice checks a decoded notice request against every rule of SPEC §5 and
// docs/schema.md at the instant now, and returns every problem (nil when valid). Paths of
// body fields start with "body.". A request that did not come from [DecodeNoticeRequest]
// has its body decoded here; a body that does not decode is reported with code bad_request.
func ValidateNotice(req *NoticeRequest, now time.Time) FieldErrors {
	var errs FieldErrors
	add := func(field, code, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Code: code, Problem: fmt.Sprintf(format, args...)})
	}
	if req.ID != "" && !uuidShape.MatchString(req.ID) {
		add("id", "uuid", "the client id %q is not a UUID", req.ID)
	}
	typeOK := slices.Contains(noticeTypes, req.Type)
	switch {
	case req.Type == "":
		add("type", "required", "the notice type is required: one of %s", strings.Join(noticeTypes, ", "))
	case !typeOK:
		add("type", "notice_type", "unknown notice type %q: use one of %s", req.Type, strings.Join(noticeTypes, ", "))
	}
	errs = append(errs, checkRecipients(req.Type, req.Recipients)...)
	if _, ok := HandlingCode(req.Handling); !ok {
		add("handling", "handling", "handling %q is not one of H0, H1, H2, H3", req.Handling)
	}
	if len(req.Body) == 0 || isNull(req.Body) {
		add("body", "required", "the body is required")
		return errs
	}
	if !typeOK {
		return errs
	}
	body := req.decoded
	if body == nil {
		var err error
		if body, err = decodeBody(req.Type, req.Body, "body"); err != nil {
			return append(errs, decodeFieldErrors(err)...)
		}
	}
	errs = append(errs, validateBody(body, now)...)
	if req.Handling == "H3" && strings.TrimSpace(handlingNote(body)) == "" {
		add("body.handling_note", "required", "handling H3 needs body.handling_note to say what the restrictions are")
	}
	if pe, ok := body.(*PreExport); ok && ValidCountry(pe.Importer.Country) && !slices.Contains(req.Recipients, pe.Importer.Country) {
		add("recipients", "importer_not_recipient",
			"the importing country's authority %q (body.importer.country) must be among the recipients", pe.Importer.Country)
	}
	if len(errs) == 0 {
		return nil
	}
	sortProblems(errs, body)
	return errs
}

// ValidateNoticeBody decodes and validates a notice body of type typ at now, without the
// request around it: what a recipient can check after decrypting (pass the entry's signed
// creation time as now). Rules that need the header (recipients, handling H3) are left out;
// a recipient that has the header should rebuild a [NoticeRequest] and call
// [ValidateNotice]. Paths start with "body".
func ValidateNoticeBody(typ string, body []byte, now time.Time) FieldErrors {
	if !slices.Contains(noticeTypes, typ) {
		return FieldErrors{{Field: "type", Code: "notice_type", Problem: fmt.Sprintf("unknown notice type %q: use one of %s", typ, strings.Join(noticeTypes, ", "))}}
	}
	v, err := decodeBody(typ, body, "body")
	if err != nil {
		return decodeFieldErrors(err)
	}
	errs := validateBody(v, now)
	if len(errs) == 0 {
		return nil
	}
	sortProblems(errs, v)
	return errs
}

func decodeFieldErrors(err error) FieldErrors {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.FieldErrors()
	}
	return FieldErrors{{Field: "body", Code: "bad_request", Problem: err.Error()}}
}

func handlingNote(body any) string {
	switch b := body.(type) {
	case *PreExport:
		return b.HandlingNote
	case *Incident:
		return b.HandlingNote
	case *SuspiciousTransaction:
		return b.HandlingNote
	case *Alert:
		return b.HandlingNote
	}
	return ""
}

// checkRecipients applies the recipient rules: 1 to MaxRecipients authority IDs, no
// duplicates, "*" only alone and only for alerts.
func checkRecipients(typ string, rs []string) FieldErrors {
	var errs FieldErrors
	add := func(field, code, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Code: code, Problem: fmt.Sprintf(format, args...)})
	}
	if len(rs) == 0 {
		add("recipients", "required", "at least one recipient is required")
		return errs
	}
	if len(rs) > MaxRecipients {
		add("recipients", "too_many", "%d recipients is more than the %d allowed", len(rs), MaxRecipients)
	}
	seen := make(map[string]int, len(rs))
	for i, r := range rs {
		path := fmt.Sprintf("recipients[%d]", i)
		if j, dup := seen[r]; dup {
			add(path, "duplicate", "recipient %q is already listed at recipients[%d]", r, j)
			continue
		}
		seen[r] = i
		switch {
		case r == Everyone && typ != TypeAlert:
			add(path, "wildcard", "\"*\" (every authority) is only allowed for alerts")
		case r == Everyone && len(rs) > 1:
			add(path, "wildcard", "\"*\" (every authority) must be the only recipient")
		case r == Everyone:
		case !ValidAuthorityID(r):
			add(path, "authority_id", "%q is not an authority ID (such as \"NL\", \"NL-CUSTOMS\" or \"INT-INCB\")", r)
		}
	}
	return errs
}

// validateBody runs the validator's tags, then the rules that need more than one field, the
// catalogue or the date. A rule is skipped for a field that already has a problem, so each
// mistake is reported once.
func validateBody(body any, now time.Time) FieldErrors {
	errs := tagErrors(body)
	c := newChecker(errs, now)
	switch b := body.(type) {
	case *PreExport:
		c.preExport(b)
	case *Incident:
		c.incident(b)
	case *SuspiciousTransaction:
		c.suspicious(b)
	case *Alert:
		c.alert(b)
	}
	return c.errs
}

// tagErrors runs the shared validator and translates its errors into FieldErrors.
func tagErrors(body any) FieldErrors {
	err := validate.Struct(body)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return FieldErrors{{Field: "body", Code: "internal", Problem: "cannot validate: " + err.Error()}}
	}
	out := make(FieldErrors, 0, len(verrs))
	for _, fe := range verrs {
		out = append(out, translate(fe))
	}
	return out
}

// translate turns one validator error into a FieldError with a JSON path and plain words.
func translate(fe validator.FieldError) FieldError {
	ns := fe.Namespace() // "PreExport.items[0].cas"
	_, rest, _ := strings.Cut(ns, ".")
	path := "body." + rest
	val := fe.Value()
	if rv := reflect.ValueOf(val); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		val = rv.Elem().Interface()
	}
	s, _ := val.(string)
	isList := fe.Kind() == reflect.Slice
	f := FieldError{Field: path}
	switch fe.Tag() {
	case "required", "required_with":
		f.Code = "required"
		f.Problem = "this field is required"
		if fe.Tag() == "required_with" {
			f.Problem = "a unit is required with a quantity (one of " + strings.Join(units, ", ") + ")"
		}
	case "nonblank":
		f.Code, f.Problem = "required", "this field is required (it holds only spaces)"
	case "min":
		f.Code = "required"
		f.Problem = fmt.Sprintf("at least %s entry is required", fe.Param())
	case "max":
		if isList {
			f.Code, f.Problem = "too_many", fmt.Sprintf("more than %s entries", fe.Param())
		} else {
			f.Code, f.Problem = "too_long", fmt.Sprintf("longer than %s characters", fe.Param())
		}
	case "oneof":
		f.Code = "enum"
		f.Problem = fmt.Sprintf("%q is not allowed here; use one of: %s", s, strings.ReplaceAll(fe.Param(), " ", ", "))
	case "unique":
		f.Code, f.Problem = "duplicate", "an entry is listed twice"
	case "country":
		f.Code = "country"
		f.Problem = fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code (such as \"DE\" or \"NL\")", s)
	case "cas":
		if casShape.MatchString(s) {
			f.Code = "cas_checksum"
			f.Problem = fmt.Sprintf("CAS number %s has a wrong check digit (expected %d)", s, casCheckDigit(s))
		} else {
			f.Code = "cas_format"
			f.Problem = fmt.Sprintf("%q is not a CAS number (written like 103-79-7)", s)
		}
	case "hs_code":
		f.Code = "hs_code"
		f.Problem = fmt.Sprintf("%q is not an HS code: 4 to 10 digits, dotted after the 4th and 6th (2939.42 or 2939.42.00)", s)
	case "unit":
		f.Code = "unit"
		f.Problem = fmt.Sprintf("unit %q is not one of %s", s, strings.Join(units, ", "))
	case "date":
		f.Code = "date"
		f.Problem = fmt.Sprintf("%q is not a date written YYYY-MM-DD", s)
	case "uuid":
		f.Code = "uuid"
		f.Problem = fmt.Sprintf("%q is not a notice id (a UUID)", s)
	case "gt", "lte":
		n, _ := val.(float64)
		if fe.Field() == "concentration_percent" {
			f.Code = "percent"
			f.Problem = fmt.Sprintf("the concentration must be more than 0 and at most 100 percent (got %s)", formatNumber(n))
		} else {
			f.Code = "quantity"
			f.Problem = fmt.Sprintf("the quantity must be greater than 0 (got %s)", formatNumber(n))
		}
	default:
		f.Code = fe.Tag()
		f.Problem = fmt.Sprintf("fails the %s rule", fe.Tag())
	}
	return f
}
