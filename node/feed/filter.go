package feed

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Subscriber is one authenticated feed client, as the node describes it to [Hub.ServeWS].
type Subscriber struct {
	// Authority is the token's authority; entries are viewed as this authority.
	Authority string
	// Partner is true for partner tokens: they never receive Handling "H2" entries.
	Partner bool
	// Filter narrows the entries sent; the zero Filter sends everything readable.
	Filter Filter
}

// Filter selects feed messages. Each non-empty list must match (lists are ANDed); within a
// list any value may match (ORed). An empty list matches everything. Matching is
// case-insensitive.
type Filter struct {
	// Types matches Message.Type or Message.Kind, so "pre_export" selects pre-export notices,
	// "objection" objections, and "response", "receipt" or "directory" every entry of that kind.
	Types []string
	// Substances matches any of Message.Substances; entries naming no substance never match.
	Substances []string
	// Countries matches any of Message.Countries.
	Countries []string
	// Categories matches Message.Category (incident categories).
	Categories []string
}

// Limits of [ParseFilter].
const (
	maxFilterValues = 64  // values per parameter
	maxFilterValue  = 128 // bytes per value
)

var (
	tokenRE   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

// ParseFilter reads the filter query parameters of GET /v1/feed:
//
//	types=pre_export,alert&substances=ephedrine,50-81-7&countries=DE,NL&categories=seizure
//
// Each parameter is a comma-separated list and may be repeated (the lists are joined).
// Values are trimmed; types and categories are lowercase tokens ([a-z][a-z0-9_]*), countries
// two letters (case-insensitive, returned uppercase), substances any printable text; empty
// values, more than 64 values per parameter or values over 128 bytes are errors. Other
// parameters (since, ...) are ignored. Errors wrap [ErrBadFilter].
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	var err error
	if f.Types, err = parseList(q, "types", func(v string) (string, bool) {
		v = strings.ToLower(v)
		return v, tokenRE.MatchString(v)
	}); err != nil {
		return Filter{}, err
	}
	if f.Substances, err = parseList(q, "substances", func(v string) (string, bool) {
		return v, printable(v)
	}); err != nil {
		return Filter{}, err
	}
	if f.Countries, err = parseList(q, "countries", func(v string) (string, bool) {
		v = strings.ToUpper(v)
		return v, countryRE.MatchString(v)
	}); err != nil {
		return Filter{}, err
	}
	if f.Categories, err = parseList(q, "categories", func(v string) (string, bool) {
		v = strings.ToLower(v)
		return v, tokenRE.MatchString(v)
	}); err != nil {
		return Filter{}, err
	}
	return f, nil
}

func parseList(q url.Values, name string, check func(string) (string, bool)) ([]string, error) {
	var out []string
	for _, raw := range q[name] {
		for v := range strings.SplitSeq(raw, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				return nil, fmt.Errorf("parsing %s: empty value in %q: %w", name, raw, ErrBadFilter)
			}
			if len(v) > maxFilterValue {
				return nil, fmt.Errorf("parsing %s: value longer than %d bytes: %w", name, maxFilterValue, ErrBadFilter)
			}
			c, ok := check(v)
			if !ok {
				return nil, fmt.Errorf("parsing %s: malformed value %q: %w", name, v, ErrBadFilter)
			}
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
			if len(out) > maxFilterValues {
				return nil, fmt.Errorf("parsing %s: more than %d values: %w", name, maxFilterValues, ErrBadFilter)
			}
		}
	}
	return out, nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// Match reports whether m passes f.
func (f Filter) Match(m *Message) bool {
	if len(f.Types) > 0 && !anyFold(f.Types, m.Type) && !anyFold(f.Types, m.Kind) {
		return false
	}
	if len(f.Substances) > 0 && !intersectFold(f.Substances, m.Substances) {
		return false
	}
	if len(f.Countries) > 0 && !intersectFold(f.Countries, m.Countries) {
		return false
	}
	if len(f.Categories) > 0 && !anyFold(f.Categories, m.Category) {
		return false
	}
	return true
}

// wants reports whether s receives m: the H2 rule for partners, then the filter.
func (s *Subscriber) wants(m *Message) bool {
	if s.Partner && strings.EqualFold(m.Handling, HandlingNoPartners) {
		return false
	}
	return s.Filter.Match(m)
}

func anyFold(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func intersectFold(filter, have []string) bool {
	for _, v := range have {
		if anyFold(filter, v) {
			return true
		}
	}
	return false
}
