package feed

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		query string
		want  Filter
		bad   bool
	}{
		{query: "", want: Filter{}},
		{query: "since=3&as=NL", want: Filter{}},
		{query: "types=pre_export,alert", want: Filter{Types: []string{"pre_export", "alert"}}},
		{query: "types=Pre_Export&types=alert,pre_export", want: Filter{Types: []string{"pre_export", "alert"}}},
		{query: "countries=de,%20NL%20", want: Filter{Countries: []string{"DE", "NL"}}},
		{query: "substances=Ephedrine,50-81-7&categories=seizure", want: Filter{Substances: []string{"Ephedrine", "50-81-7"}, Categories: []string{"seizure"}}},
		{query: "types=", bad: true},
		{query: "types=a,,b", bad: true},
		{query: "types=pre-export", bad: true},
		{query: "countries=DEU", bad: true},
		{query: "countries=1A", bad: true},
		{query: "categories=" + strings.Repeat("a", 129), bad: true},
		{query: "substances=a%00b", bad: true},
		{query: "substances=" + manyValues(65), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFilter(q)
			if tt.bad {
				if !errors.Is(err, ErrBadFilter) {
					t.Fatalf("ParseFilter = %+v, %v; want ErrBadFilter", got, err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("ParseFilter = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestSubscriberWants(t *testing.T) {
	inc := &Message{Kind: KindNotice, Type: "incident", Handling: "H0", Substances: []string{"Ephedrine", "299-42-3"}, Countries: []string{"NL"}, Category: "seizure"}
	h2 := &Message{Kind: KindResponse, Type: "objection", Handling: "H2"}
	dir := &Message{Kind: KindDirectory, Type: "authority_added"}
	tests := []struct {
		name string
		sub  Subscriber
		m    *Message
		want bool
	}{
		{"all", Subscriber{}, inc, true},
		{"h2 to focal point", Subscriber{}, h2, true},
		{"h2 to partner", Subscriber{Partner: true}, h2, false},
		{"type", Subscriber{Filter: Filter{Types: []string{"incident"}}}, inc, true},
		{"other type", Subscriber{Filter: Filter{Types: []string{"alert"}}}, inc, false},
		{"kind", Subscriber{Filter: Filter{Types: []string{"directory"}}}, dir, true},
		{"kind response", Subscriber{Filter: Filter{Types: []string{"response"}}}, h2, true},
		{"substance by cas", Subscriber{Filter: Filter{Substances: []string{"299-42-3"}}}, inc, true},
		{"substance case", Subscriber{Filter: Filter{Substances: []string{"EPHEDRINE"}}}, inc, true},
		{"substance missing", Subscriber{Filter: Filter{Substances: []string{"ephedrine"}}}, dir, false},
		{"country", Subscriber{Filter: Filter{Countries: []string{"DE", "NL"}}}, inc, true},
		{"other country", Subscriber{Filter: Filter{Countries: []string{"DE"}}}, inc, false},
		{"category", Subscriber{Filter: Filter{Categories: []string{"seizure"}}}, inc, true},
		{"and", Subscriber{Filter: Filter{Types: []string{"incident"}, Categories: []string{"diversion"}}}, inc, false},
	}
	for _, tt := range tests {
		if got := tt.sub.wants(tt.m); got != tt.want {
			t.Errorf("%s: wants = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if c.Buffer != 256 || c.Heartbeat != DefaultHeartbeat || c.WriteTimeout != DefaultWriteTimeout || c.PongWait != DefaultPongWait {
		t.Fatalf("DefaultConfig = %+v", c)
	}
	for _, bad := range []Config{{Buffer: -1}, {Heartbeat: -1}, {WriteTimeout: -1}, {PongWait: 1}} {
		if err := bad.Validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrBadConfig", bad, err)
		}
	}
}

func manyValues(n int) string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf("s%d", i)
	}
	return strings.Join(v, ",")
}

// FuzzParseFilter checks that ParseFilter never panics, that what it accepts obeys its limits,
// and that re-encoding an accepted filter parses back to the same filter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "types=pre_export,alert", "countries=de&countries=NL", "substances=Ephedrine,50-81-7&categories=seizure", "types=a,,b", "substances=%ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := ParseFilter(q)
		if err != nil {
			if !errors.Is(err, ErrBadFilter) {
				t.Fatalf("error %v does not wrap ErrBadFilter", err)
			}
			return
		}
		back := url.Values{}
		for name, list := range map[string][]string{"types": got.Types, "substances": got.Substances, "countries": got.Countries, "categories": got.Categories} {
			if len(list) > maxFilterValues {
				t.Fatalf("%s has %d values", name, len(list))
			}
			for _, v := range list {
				if v == "" || len(v) > maxFilterValue || strings.Contains(v, ",") || v != strings.TrimSpace(v) {
					t.Fatalf("%s value %q out of bounds", name, v)
				}
			}
			if len(list) > 0 {
				back.Set(name, strings.Join(list, ","))
			}
		}
		again, err := ParseFilter(back)
		if err != nil || fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("round trip of %+v: %+v, %v", got, again, err)
		}
	})
}
