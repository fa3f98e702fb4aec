package consensus

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/penhub/penhub/crypto"
)

func TestConfigValidate(t *testing.T) {
	key, err := crypto.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := crypto.NewCA("t")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("node1", nil)
	if err != nil {
		t.Fatal(err)
	}
	good := func() Config {
		c := DefaultConfig()
		c.NodeID, c.DataDir, c.RaftBind = "node1", t.TempDir(), "127.0.0.1:0"
		c.CACert, c.Cert, c.NodeKey = ca.Pool(), cert, key
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero durations get defaults", func(c *Config) {
			c.HeartbeatTimeout, c.ElectionTimeout, c.ForwardHold, c.LeaderLeaseTimeout = 0, 0, 0, 0
		}, ""},
		{"node id", func(c *Config) { c.NodeID = "" }, "NodeID"},
		{"data dir", func(c *Config) { c.DataDir = "" }, "DataDir"},
		{"raft bind", func(c *Config) { c.RaftBind = "" }, "RaftBind"},
		{"raft bind syntax", func(c *Config) { c.RaftBind = "nonsense" }, "RaftBind"},
		{"ca", func(c *Config) { c.CACert = nil }, "CACert"},
		{"cert", func(c *Config) { c.Cert = tls.Certificate{} }, "Cert"},
		{"node key", func(c *Config) { c.NodeKey = nil }, "NodeKey"},
		{"bootstrap needs genesis", func(c *Config) { c.Bootstrap = true }, "Genesis"},
		{"election below heartbeat", func(c *Config) { c.ElectionTimeout = c.HeartbeatTimeout / 2 }, "ElectionTimeout"},
		{"lease above heartbeat", func(c *Config) { c.LeaderLeaseTimeout = 2 * c.HeartbeatTimeout }, "LeaderLeaseTimeout"},
		{"negative hold", func(c *Config) { c.ForwardHold = -time.Second }, "ForwardHold"},
		{"unspecified advertise", func(c *Config) { c.RaftAdvertise = "0.0.0.0:7501" }, "RaftAdvertise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
			if err == nil && (c.HeartbeatTimeout == 0 || c.ForwardHold == 0 || c.LeaderLeaseTimeout == 0 || c.Logger == nil) {
				t.Fatalf("defaults not filled: %+v", c)
			}
		})
	}
}

// FuzzRPCFrames: the frame readers never panic, never allocate beyond the cap, and a
// request that parses re-encodes to the same bytes.
func FuzzRPCFrames(f *testing.F) {
	var b bytes.Buffer
	_ = writeRequest(&b, opPropose, 1500*time.Millisecond, []byte("envelope"))
	f.Add(b.Bytes())
	b.Reset()
	_ = writeResponse(&b, &rpcResponse{Status: stOK, RaftIndex: 7, Applied: &Applied{Index: 3, Reference: "DE-2026-000001"}})
	f.Add(b.Bytes())
	f.Add([]byte{2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		op, timeout, body, err := readRequest(bytes.NewReader(data))
		if err == nil {
			var out bytes.Buffer
			if err := writeRequest(&out, op, timeout, body); err != nil {
				t.Fatal(err)
			}
			// The encoder clamps timeouts to 1 ms … 2^31 ms; inside that range the
			// frame must come back byte for byte.
			ms := timeout.Milliseconds()
			if ms >= 1 && ms <= 1<<31 && !bytes.Equal(out.Bytes(), data[:out.Len()]) {
				t.Fatalf("request does not round-trip")
			}
		}
		_, _ = readResponse(bytes.NewReader(data))
	})
}

func TestStallWatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var w stallWatch
	steps := []struct {
		commit, last uint64
		at           time.Duration
		want         stallEvent
	}{
		{10, 10, 0, stallNone},              // nothing waiting
		{10, 12, time.Second, stallNone},    // entries waiting, clock starts
		{10, 12, stallAfter / 2, stallNone}, // not yet stallAfter since the last progress
		{10, 12, stallAfter + 2*time.Second, stallRaised},
		{10, 13, stallAfter + 3*time.Second, stallNone}, // raised once
		{11, 13, stallAfter + 4*time.Second, stallCleared},
		{11, 11, stallAfter + 60*time.Second, stallNone}, // idle leader is never stalled
	}
	for i, s := range steps {
		if got := w.step(s.commit, s.last, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d: %v, want %v", i, got, s.want)
		}
	}
}
