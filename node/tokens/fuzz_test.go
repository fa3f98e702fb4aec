package tokens

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParse checks that the strict parser never panics and that whatever it
// accepts survives a write and a re-read unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":1,"tokens":[]}`))
	f.Add([]byte(`{"version":1,"tokens":[{"id":"4f1c2a9be07d","authority":"DE","role":"focal_point","label":"x","created":"2026-01-02T03:04:05Z","expires":null,"revoked":false,"hash":"` +
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" + `"}]}`))
	f.Add([]byte(`{"version":1,"tokens":[{"id":"a","role":"admin","hash":"zz"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := parse(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(file{Version: fileVersion, Tokens: ts})
		if err != nil {
			t.Fatalf("marshal accepted tokens: %v", err)
		}
		again, err := parse(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(ts) == 0 && len(again) == 0 {
			return
		}
		for i := range ts {
			ts[i].Created = ts[i].Created.UTC()
			again[i].Created = again[i].Created.UTC()
			if ts[i].Expires != nil {
				e := ts[i].Expires.UTC()
				ts[i].Expires = &e
				e2 := again[i].Expires.UTC()
				again[i].Expires = &e2
			}
		}
		if !reflect.DeepEqual(ts, again) {
			t.Fatalf("round trip changed tokens:\n%+v\n%+v", ts, again)
		}
	})
}
