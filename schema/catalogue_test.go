package schema

import (
	"encoding/csv"
	"strings"
	"testing"
)

func TestCatalogueLoadsEveryRow(t *testing.T) {
	rows, err := csv.NewReader(strings.NewReader(substancesCSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	list := Substances()
	if len(list) != len(rows)-1 {
		t.Fatalf("%d substances, csv has %d rows", len(list), len(rows)-1)
	}
	count := map[string]int{}
	noCAS := 0
	for _, s := range list {
		count[s.Table]++
		if s.CAS == "" {
			noCAS++
		} else if !ValidCAS(s.CAS) {
			t.Errorf("%s: CAS %s has a wrong check digit", s.Name, s.CAS)
		}
		if s.Name == "" || strings.HasSuffix(s.Name, ")") && !strings.Contains(s.Name, "(2-(") {
			t.Errorf("name %q still carries its synonyms", s.Name)
		}
		if got, ok := LookupSubstance(s.Name); !ok || got.Name != s.Name {
			t.Errorf("LookupSubstance(%q) = %q, %v", s.Name, got.Name, ok)
		}
		for _, syn := range s.Synonyms {
			if got, ok := LookupSubstance(syn); !ok || got.Name != s.Name {
				t.Errorf("synonym %q of %q finds %q, %v", syn, s.Name, got.Name, ok)
			}
		}
		if s.CAS != "" {
			if got, ok := LookupSubstance(s.CAS); !ok || got.Name != s.Name {
				t.Errorf("CAS %s of %q finds %q, %v", s.CAS, s.Name, got.Name, ok)
			}
		}
	}
	if count[TableI] == 0 || count[TableII] == 0 || count[TableWatched] == 0 || len(count) != 3 {
		t.Errorf("tables: %v", count)
	}
	if noCAS == 0 {
		t.Error("expected some rows without CAS")
	}
	if len(catalogue.ambiguous) > 0 {
		t.Errorf("names that point at two entries: %q", catalogue.ambiguous)
	}
}

func TestLookupSubstance(t *testing.T) {
	cases := []struct{ query, name, table string }{
		{"1-Phenyl-2-propanone", "1-Phenyl-2-propanone", TableI},
		{"P-2-P", "1-Phenyl-2-propanone", TableI},
		{"p2p", "1-Phenyl-2-propanone", TableI},
		{"BMK", "1-Phenyl-2-propanone", TableI},
		{"  phenylacetone ", "1-Phenyl-2-propanone", TableI},
		{"103-79-7", "1-Phenyl-2-propanone", TableI},
		{"PMK", "3,4-Methylenedioxyphenyl-2-propanone", TableI},
		{"3,4-MDP-2-P", "3,4-Methylenedioxyphenyl-2-propanone", TableI},
		{"34mdp2p", "3,4-Methylenedioxyphenyl-2-propanone", TableI},
		{"PMK glycidic acid", "3,4-MDP-2-P methyl glycidic acid", TableI},
		{"PMK methyl glycidate", "3,4-MDP-2-P methyl glycidate", TableI},
		{"PMK ethyl glycidate", "3,4-MDP-2-P methyl glycidic acid, ethyl ester", TableI},
		{"BMK glycidic acid", "P-2-P methyl glycidic acid", TableI},
		{"BMK methyl glycidate", "P-2-P methyl glycidic acid, methyl ester", TableI},
		{"P-2-P methyl glycidic acid tert-butyl ester", "P-2-P methyl glycidic acid, tert-butyl ester", TableI},
		{"MAPA", "Methyl alpha-phenylacetoacetate", TableI},
		{"methyl α-phenylacetoacetate", "Methyl alpha-phenylacetoacetate", TableI},
		{"APAAN", "alpha-Phenylacetoacetonitrile", TableI},
		{"APAA", "alpha-Phenylacetoacetamide", TableI},
		{"ANPP", "4-Anilino-N-phenethylpiperidine", TableI},
		{"NPP", "N-Phenethyl-4-piperidone", TableI},
		{"4-AP", "N-Phenylpiperidin-4-amine", TableI},
		{"1-boc-4-AP", "tert-Butyl 4-(phenylamino)piperidine-1-carboxylate", TableI},
		{"Norfentanyl", "Norfentanyl", TableI},
		{"N-phenyl-N-(piperidin-4-yl)propanamide", "Norfentanyl", TableI},
		{"phenylpropanolamine", "Norephedrine", TableI},
		{"EPHEDRINE", "Ephedrine", TableI},
		{"potassium permanganate", "Potassium permanganate", TableI},
		{"MEK", "Methyl ethyl ketone", TableII},
		{"2-butanone", "Methyl ethyl ketone", TableII},
		{"diethyl ether", "Ethyl ether", TableII},
		{"hydrogen chloride", "Hydrochloric acid", TableII},
		{"sulfuric acid", "Sulphuric acid", TableII},
		{"Toluene", "Toluene", TableII},
		{"GBL", "gamma-Butyrolactone", TableWatched},
		{"γ-butyrolactone", "gamma-Butyrolactone", TableWatched},
		{"1,4-BD", "1,4-Butanediol", TableWatched},
		{"IMDPAM", "Isopropylidene (2-(3,4-methylenedioxyphenyl)acetyl)malonate", TableWatched},
		{"DEPAPD", "Diethyl (phenylacetyl)propanedioate", TableWatched},
		{"benzyl cyanide", "Benzyl cyanide", TableWatched},
		{"phenylacetonitrile", "Benzyl cyanide", TableWatched},
	}
	for _, tc := range cases {
		s, ok := LookupSubstance(tc.query)
		if !ok || s.Name != tc.name || s.Table != tc.table {
			t.Errorf("LookupSubstance(%q) = %q (%s), %v; want %q (%s)", tc.query, s.Name, s.Table, ok, tc.name, tc.table)
		}
	}
	for _, q := range []string{"", "Unobtainium", "methyl ester", "ester", "103-79-8", "50-00-0", "glycidate", "acid"} {
		if s, ok := LookupSubstance(q); ok {
			t.Errorf("LookupSubstance(%q) found %q", q, s.Name)
		}
	}
}

func TestSubstancesIsACopy(t *testing.T) {
	a := Substances()
	a[0].Name = "changed"
	a[0].Synonyms = append(a[0].Synonyms[:0], "changed")
	if b := Substances(); b[0].Name == "changed" || len(b[0].Synonyms) > 0 && b[0].Synonyms[0] == "changed" {
		t.Error("Substances shares memory with the catalogue")
	}
}

func TestSplitSynonyms(t *testing.T) {
	cases := []struct {
		in   string
		name string
		syn  string
	}{
		{"Acetone", "Acetone", ""},
		{"1-Phenyl-2-propanone (P-2-P; BMK; phenylacetone)", "1-Phenyl-2-propanone", "P-2-P|BMK|phenylacetone"},
		{"Norfentanyl (N-phenyl-N-(piperidin-4-yl)propanamide)", "Norfentanyl", "N-phenyl-N-(piperidin-4-yl)propanamide"},
		{"3,4-MDP-2-P methyl glycidate (PMK methyl glycidate; methyl ester)", "3,4-MDP-2-P methyl glycidate", "PMK methyl glycidate"},
		{"tert-Butyl 4-(phenylamino)piperidine-1-carboxylate", "tert-Butyl 4-(phenylamino)piperidine-1-carboxylate", ""},
		{"Diethyl (phenylacetyl)propanedioate (DEPAPD)", "Diethyl (phenylacetyl)propanedioate", "DEPAPD"},
		{"(x)", "(x)", ""},
	}
	for _, tc := range cases {
		name, syn := splitSynonyms(tc.in)
		if name != tc.name || strings.Join(syn, "|") != tc.syn {
			t.Errorf("splitSynonyms(%q) = %q, %q", tc.in, name, syn)
		}
	}
}

func TestParseCatalogueRejectsBadRows(t *testing.T) {
	header := "name,table,cas,hs_code,notes\n"
	for _, text := range []string{
		"",
		"name,table,cas\n",
		header + "X,III,,,\n",
		header + "X,I,103-79-8,,\n",
		header + "X,I,,29.14,\n",
		header + "X,I,,\n",
	} {
		if _, err := parseCatalogue(text); err == nil {
			t.Errorf("parseCatalogue(%q) accepted", text)
		}
	}
}
