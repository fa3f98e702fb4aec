package node

import (
	"strings"
	"testing"
)

// TestConfigRefusesPlainHTTPOffLoopback: SPEC §6.7, the API does not listen
// on a non-loopback address without TLS unless told to.
func TestConfigRefusesPlainHTTPOffLoopback(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.NodeID, c.DataDir, c.Raft, c.HubID = "n1", t.TempDir(), "127.0.0.1:7501", strings.Repeat("ab", 32)
		return c
	}
	cases := []struct {
		api      string
		insecure bool
		tls      bool
		ok       bool
	}{
		{"127.0.0.1:7401", false, false, true},
		{"localhost:7401", false, false, true},
		{"[::1]:7401", false, false, true},
		{"0.0.0.0:7401", false, false, false},
		{"10.1.2.3:7401", false, false, false},
		{"0.0.0.0:7401", true, false, true},
		{"0.0.0.0:7401", false, true, true},
	}
	for _, tc := range cases {
		c := base()
		c.API, c.InsecureHTTP = tc.api, tc.insecure
		if tc.tls {
			c.APICert, c.APIKey = "api.pem", "api-key.pem"
		}
		err := c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("api %s insecure=%v tls=%v: %v, want ok=%v", tc.api, tc.insecure, tc.tls, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--insecure-http") {
			t.Errorf("the refusal does not say how to override it: %v", err)
		}
	}
}
