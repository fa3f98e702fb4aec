package schema

import (
	"slices"
	"testing"
	"time"
)

func TestValidCAS(t *testing.T) {
	for s, want := range map[string]bool{
		"103-79-7": true, "7732-18-5": true, "50-00-0": true, "2167189-50-4": true, "125541-22-2": true,
		"103-79-8": false, "7732-18-4": false, // check digit
		"": false, "103797": false, "103-79": false, "1-79-7": false, "12345678-79-7": false,
		"103-7-7": false, "103-79-77": false, "0103-79-7": false, "103_79_7": false, " 103-79-7": false, "１０３-79-7": false,
	} {
		if got := ValidCAS(s); got != want {
			t.Errorf("ValidCAS(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestValidHSCode(t *testing.T) {
	for s, want := range map[string]bool{
		"2939": true, "2939.42": true, "2939.42.00": true, "2939.42.001": true, "2933.39.9073": true,
		"": false, "293": false, "29394": false, "2939.4": false, "2939.42.0": false, "2939.42.00001": false,
		"29394200": false, "2939-42": false, "2939.42.": false, ".2939": false, "abcd": false,
	} {
		if got := validHSCode(s); got != want {
			t.Errorf("validHSCode(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestValidAuthorityID(t *testing.T) {
	for s, want := range map[string]bool{
		"DE": true, "NL-CUSTOMS": true, "DE-BKA": true, "US-DEA2": true, "INT-INCB": true, "INT-WCO": true,
		"NL-ABCDEFGHIJKLMNOP": true, "INT-ABCDEFGHIJKLMNOP": true,
		"": false, "D": false, "de": false, "DEU": false, "INT": false, "INT-": false, "NL-": false,
		"NL-customs": false, "NL-ABCDEFGHIJKLMNOPQ": false, "INT-ABCDEFGHIJKLMNOPQ": false,
		"NL_CUSTOMS": false, "NL-CUS-TOMS": false, "*": false, " NL": false, "NL\n": false,
	} {
		if got := ValidAuthorityID(s); got != want {
			t.Errorf("ValidAuthorityID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestValidCountry(t *testing.T) {
	if len(countryCodes) != 249 {
		t.Errorf("%d country codes, ISO 3166-1 assigns 249", len(countryCodes))
	}
	for _, cc := range []string{"DE", "NL", "IN", "CN", "US", "MX", "ZA", "BR", "AU", "GB", "SS", "BQ", "CW", "SX", "AX", "PS", "TW", "HK", "AQ"} {
		if !ValidCountry(cc) {
			t.Errorf("ValidCountry(%q) = false", cc)
		}
	}
	for _, cc := range []string{"", "de", "De", "DEU", "XK", "UK", "EU", "ZZ", "AN", "YU", "CS", "D", "INT"} {
		if ValidCountry(cc) {
			t.Errorf("ValidCountry(%q) = true", cc)
		}
	}
}

func TestParseDeadline(t *testing.T) {
	end, ok := ParseDeadline("2030-06-15")
	if !ok || !end.Equal(time.Date(2030, 6, 15, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("ParseDeadline = %v, %v", end, ok)
	}
	for _, s := range []string{"", "2030-6-15", "2030-06-31", "15.06.2030", "2030-06-15T00:00:00Z", "20300615"} {
		if _, ok := ParseDeadline(s); ok {
			t.Errorf("ParseDeadline(%q) accepted", s)
		}
	}
	if !deadlineOpen(end, end) || deadlineOpen(end, end.Add(time.Second)) {
		t.Error("a deadline is open through 23:59:59 and passed one second later")
	}
}

func TestNormalizeQuantity(t *testing.T) {
	cases := []struct {
		q    float64
		unit string
		want float64
		base string
		ok   bool
	}{
		{250, "kg", 250, "kg", true}, {500, "g", 0.5, "kg", true}, {2, "L", 2, "L", true},
		{1500, "mL", 1.5, "L", true}, {12, "units", 12, "units", true}, {1, "lb", 0, "", false},
	}
	for _, tc := range cases {
		q, u, ok := NormalizeQuantity(tc.q, tc.unit)
		if q != tc.want || u != tc.base || ok != tc.ok {
			t.Errorf("NormalizeQuantity(%v, %q) = %v, %q, %v", tc.q, tc.unit, q, u, ok)
		}
	}
}

func TestLists(t *testing.T) {
	if got := NoticeTypes(); !slices.Equal(got, []string{"pre_export", "incident", "suspicious_transaction", "alert"}) {
		t.Errorf("NoticeTypes() = %q", got)
	}
	d := Decisions()
	if len(d) != 8 || d[0] != "acknowledged" || d[7] != "shipped" {
		t.Errorf("Decisions() = %q", d)
	}
	d[0] = "changed"
	if Decisions()[0] != "acknowledged" {
		t.Error("Decisions shares its slice")
	}
	for h, want := range map[string]uint8{"": 0, "H0": 0, "H1": 1, "H2": 2, "H3": 3} {
		if got, ok := HandlingCode(h); !ok || got != want {
			t.Errorf("HandlingCode(%q) = %d, %v", h, got, ok)
		}
	}
	if _, ok := HandlingCode("H4"); ok {
		t.Error("HandlingCode(H4) accepted")
	}
}
