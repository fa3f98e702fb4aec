package schema

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// substancesCSV is the catalogue: a header line "name,table,cas,hs_code,notes", then one
// substance a row. table is "I" or "II" (1988 Convention, Art. 12) or "none" (a watched
// non-scheduled chemical); cas and hs_code may be empty. A name may end in a parenthesised
// list of synonyms separated by semicolons: "1-Phenyl-2-propanone (P-2-P; BMK; phenylacetone)".
//
//go:embed substances.csv
var substancesCSV string

// Table values of [Substance].
const (
	TableI       = "I"
	TableII      = "II"
	TableWatched = "watched"
)

// Substance is one entry of the catalogue.
type Substance struct {
	// Name is the name the catalogue gives, without its parenthesised synonyms.
	Name string `json:"name"`
	// Table is "I", "II" or "watched" (a non-scheduled chemical under international watch).
	Table string `json:"table"`
	// CAS is the CAS registry number of the base form; empty when the catalogue has none.
	CAS string `json:"cas,omitempty"`
	// HSCode is the 6-digit Harmonized System code (dotted after the 4th digit); may be empty.
	HSCode string `json:"hs_code,omitempty"`
	// Synonyms are other names (abbreviations and trade names) that look the entry up.
	Synonyms []string `json:"synonyms,omitempty"`
	// Notes is the catalogue's remark on the entry (history of scheduling, caveats).
	Notes string `json:"notes,omitempty"`
}

// extraSynonyms are well-established names missing from the catalogue's own parentheses,
// keyed by CAS. Each must be unambiguous: a test checks no two entries share a lookup key.
var extraSynonyms = map[string][]string{
	"103-79-7":   {"P2P", "phenyl-2-propanone", "benzyl methyl ketone"},
	"4676-39-5":  {"MDP2P", "MDP-2-P", "piperonyl methyl ketone"},
	"13605-48-6": {"3,4-MDP-2-P methyl glycidic acid, methyl ester", "PMK glycidic acid, methyl ester"},
	"21409-26-7": {"4-ANPP", "despropionyl fentanyl"},
	"39742-60-4": {"1-phenethyl-4-piperidone", "1-phenethylpiperidin-4-one"},
	"14838-15-4": {"PPA"},
	"60-29-7":    {"diethyl ether", "ether"},
	"7647-01-0":  {"muriatic acid"},
	"7664-93-9":  {"sulfuric acid"},
	"78-93-3":    {"butanone"},
	"96-48-0":    {"gamma-butyrolactone", "GBL"},
	"110-63-4":   {"1,4-butanediol", "BDO"},
	"74-89-5":    {"monomethylamine"},
	"140-29-4":   {"phenylacetonitrile"},
	"41661-47-6": {"4-piperidinone"},
}

// droppedSynonyms are parenthesised words in the catalogue that are too generic to name one
// substance on their own.
var droppedSynonyms = map[string]bool{"methylester": true}

var catalogue struct {
	list  []Substance
	byKey map[string]int // normalised name or synonym → index in list
	byCAS map[string]int
	// ambiguous lists keys that named two entries and were dropped (a test keeps it empty).
	ambiguous []string
}

func init() {
	list, err := parseCatalogue(substancesCSV)
	if err != nil {
		panic(fmt.Sprintf("schema: embedded substances.csv: %v", err))
	}
	catalogue.list = list
	catalogue.byKey = make(map[string]int)
	catalogue.byCAS = make(map[string]int)
	owners := make(map[string][]int)
	for i, s := range list {
		if s.CAS != "" {
			catalogue.byCAS[s.CAS] = i
		}
		for _, n := range append([]string{s.Name}, s.Synonyms...) {
			if k := normalizeName(n); k != "" && !slices.Contains(owners[k], i) {
				owners[k] = append(owners[k], i)
			}
		}
	}
	for k, is := range owners {
		if len(is) == 1 {
			catalogue.byKey[k] = is[0]
		} else {
			catalogue.ambiguous = append(catalogue.ambiguous, k)
		}
	}
	slices.Sort(catalogue.ambiguous)
}

// parseCatalogue reads the catalogue CSV (format at [substancesCSV]).
func parseCatalogue(text string) ([]Substance, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = 5
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading csv: %w", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "name,table,cas,hs_code,notes" {
		return nil, fmt.Errorf("unexpected header")
	}
	var list []Substance
	for n, row := range rows[1:] {
		s := Substance{CAS: strings.TrimSpace(row[2]), HSCode: strings.TrimSpace(row[3]), Notes: row[4]}
		switch t := strings.TrimSpace(row[1]); t {
		case "I", "II":
			s.Table = t
		case "none":
			s.Table = TableWatched
		default:
			return nil, fmt.Errorf("row %d: unknown table %q", n+2, t)
		}
		if s.CAS != "" && !ValidCAS(s.CAS) {
			return nil, fmt.Errorf("row %d: invalid CAS %q", n+2, s.CAS)
		}
		if s.HSCode != "" && !validHSCode(s.HSCode) {
			return nil, fmt.Errorf("row %d: invalid HS code %q", n+2, s.HSCode)
		}
		s.Name, s.Synonyms = splitSynonyms(strings.TrimSpace(row[0]))
		s.Synonyms = append(s.Synonyms, derivedSynonyms(s.Name)...)
		s.Synonyms = append(s.Synonyms, extraSynonyms[s.CAS]...)
		s.Synonyms = dedupeNames(s.Name, s.Synonyms)
		list = append(list, s)
	}
	return list, nil
}

// splitSynonyms splits "Base name (A; B)" into "Base name" and [A B]. Only a trailing
// parenthesised group counts, and nested parentheses inside it are kept:
// "Norfentanyl (N-phenyl-N-(piperidin-4-yl)propanamide)" has one synonym.
func splitSynonyms(full string) (string, []string) {
	if !strings.HasSuffix(full, ")") {
		return full, nil
	}
	depth := 0
	for i := len(full) - 1; i >= 0; i-- {
		switch full[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				base := strings.TrimSpace(full[:i])
				if base == "" || full[i-1] != ' ' {
					// "4-(phenylamino)..." style: the parentheses are part of the name.
					return full, nil
				}
				var syn []string
				for _, p := range strings.Split(full[i+1:len(full)-1], ";") {
					p = strings.TrimSpace(p)
					if p != "" && !droppedSynonyms[normalizeName(p)] {
						syn = append(syn, p)
					}
				}
				return base, syn
			}
		}
	}
	return full, nil
}

// derivedSynonyms names the glycidic acid esters the way they are traded:
// "P-2-P methyl glycidic acid, ethyl ester" is also "BMK ethyl glycidate" and
// "BMK glycidic acid, ethyl ester".
func derivedSynonyms(name string) []string {
	for prefix, short := range map[string]string{"P-2-P methyl glycidic acid, ": "BMK", "3,4-MDP-2-P methyl glycidic acid, ": "PMK"} {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		alkyl, ok := strings.CutSuffix(rest, " ester")
		if !ok {
			continue
		}
		return []string{short + " " + alkyl + " glycidate", short + " glycidic acid, " + alkyl + " ester"}
	}
	return nil
}

func dedupeNames(name string, syn []string) []string {
	seen := map[string]bool{normalizeName(name): true}
	var out []string
	for _, s := range syn {
		k := normalizeName(s)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
}

// normalizeName is the lookup key of a name: lower case, Greek letters spelt out, and every
// character that is not a letter or a digit removed ("3,4-MDP-2-P" → "34mdp2p").
func normalizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case 'α', 'Α':
			b.WriteString("alpha")
			continue
		case 'β', 'Β':
			b.WriteString("beta")
			continue
		case 'γ', 'Γ':
			b.WriteString("gamma")
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// LookupSubstance finds a catalogue entry by CAS number, name or synonym. Names are
// compared ignoring case, spaces and punctuation ("p2p", "P-2-P" and "BMK" find
// 1-Phenyl-2-propanone). The returned Substance shares its Synonyms slice with the
// catalogue; do not modify it.
func LookupSubstance(nameOrCAS string) (Substance, bool) {
	s := strings.TrimSpace(nameOrCAS)
	if casShape.MatchString(s) {
		i, ok := catalogue.byCAS[s]
		if !ok {
			return Substance{}, false
		}
		return catalogue.list[i], true
	}
	i, ok := catalogue.byKey[normalizeName(s)]
	if !ok {
		return Substance{}, false
	}
	return catalogue.list[i], true
}

// lookupCAS finds a catalogue entry by CAS number only.
func lookupCAS(cas string) (Substance, bool) {
	i, ok := catalogue.byCAS[strings.TrimSpace(cas)]
	if !ok {
		return Substance{}, false
	}
	return catalogue.list[i], true
}

// lookupName finds a catalogue entry by name or synonym only.
func lookupName(name string) (Substance, bool) {
	i, ok := catalogue.byKey[normalizeName(name)]
	if !ok {
		return Substance{}, false
	}
	return catalogue.list[i], true
}

// Substances returns a copy of the catalogue in file order (Table I, Table II, watched).
func Substances() []Substance {
	out := slices.Clone(catalogue.list)
	for i := range out {
		out[i].Synonyms = slices.Clone(out[i].Synonyms)
	}
	return out
}

// tableName is how messages name a table.
func tableName(t string) string {
	switch t {
	case TableI:
		return "Table I"
	case TableII:
		return "Table II"
	}
	return "the watched list"
}
