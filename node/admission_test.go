package node

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/penhub/penhub/consensus/ledger"
	"github.com/penhub/penhub/crypto"
)

// newQuorumHub starts a one-node hub whose genesis admits by 2 countries of
// DE, NL, FR (the secretariat INT-INCB may still admit alone).
func newQuorumHub(t *testing.T) *reviewHub {
	t.Helper()
	return newOneNodeHub(t, "quorum hub", ledger.Admission{K: 2, Of: []string{"DE", "NL", "FR"}}, []string{"INT-INCB", "DE", "NL", "FR", "IN"})
}

type admissionAnswer struct {
	ID         string `json:"id"`
	Index      uint64 `json:"index"`
	Op         string `json:"op"`
	Pending    bool   `json:"pending"`
	Signatures int    `json:"signatures"`
	Needed     int    `json:"needed"`
	Authority  string `json:"authority"`
}

// TestAdmissionCosignedThroughTheAPI: DE proposes DE-BKA, the proposal is
// listed as pending, NL cosigns and DE-BKA is admitted.
func TestAdmissionCosignedThroughTheAPI(t *testing.T) {
	h := newQuorumHub(t)
	bka, err := crypto.GenerateIdentity(rand.Reader, "DE-BKA")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := bka.PublicFile()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(map[string]string{"id": "DE-BKA", "node": "node1", "public_keys": string(pub)})

	// Not a quorum member (IN), and a partner token: refused.
	if status, b := h.do("POST", "/v1/directory/authorities", "IN/focal_point", string(req), nil); status != http.StatusForbidden {
		t.Fatalf("IN proposing: %d %s", status, b)
	}
	if status, b := h.do("POST", "/v1/directory/authorities", "DE/partner", string(req), nil); status != http.StatusForbidden {
		t.Fatalf("DE partner proposing: %d %s", status, b)
	}

	var prop admissionAnswer
	if status, b := h.do("POST", "/v1/directory/authorities", "DE/focal_point", string(req), &prop); status != http.StatusCreated {
		t.Fatalf("DE proposing: %d %s", status, b)
	}
	if prop.Op != ledger.OpAdmitAuthority || !prop.Pending || prop.Signatures != 1 || prop.Needed != 2 || uuid.Validate(prop.ID) != nil {
		t.Fatalf("proposal answer: %+v", prop)
	}
	// A second proposal of the same id: conflict.
	if status, b := h.do("POST", "/v1/directory/authorities", "FR/focal_point", string(req), nil); status != http.StatusConflict {
		t.Fatalf("second proposal: %d %s", status, b)
	}

	var dir struct {
		Authorities []struct {
			ID string `json:"id"`
		} `json:"authorities"`
		PendingAdmissions []struct {
			ID        string   `json:"id"`
			Index     uint64   `json:"index"`
			Proposer  string   `json:"proposer"`
			Authority string   `json:"authority"`
			Node      string   `json:"node"`
			Countries []string `json:"countries"`
			Needed    int      `json:"needed"`
		} `json:"pending_admissions"`
	}
	getDir := func() {
		t.Helper()
		if status, b := h.do("GET", "/v1/directory?consistent=true", "IN/partner", "", &dir); status != http.StatusOK {
			t.Fatalf("directory: %d %s", status, b)
		}
	}
	hasAuthority := func(id string) bool {
		for _, a := range dir.Authorities {
			if a.ID == id {
				return true
			}
		}
		return false
	}
	getDir()
	if len(dir.PendingAdmissions) != 1 || hasAuthority("DE-BKA") {
		t.Fatalf("directory after the proposal: %+v", dir)
	}
	p := dir.PendingAdmissions[0]
	if p.ID != prop.ID || p.Index != prop.Index || p.Proposer != "DE" || p.Authority != "DE-BKA" || p.Node != "node1" ||
		!slices.Equal(p.Countries, []string{"DE"}) || p.Needed != 2 {
		t.Fatalf("pending admission: %+v", p)
	}

	cosign := "/v1/directory/admissions/" + prop.ID + "/cosign"
	for _, tc := range []struct {
		who, path string
		want      int
	}{
		{"DE/focal_point", cosign, http.StatusConflict}, // DE already signed
		{"IN/focal_point", cosign, http.StatusForbidden},
		{"INT-INCB/focal_point", cosign, http.StatusForbidden},
		{"NL/partner", cosign, http.StatusForbidden},
		{"NL/focal_point", "/v1/directory/admissions/" + uuid.NewString() + "/cosign", http.StatusNotFound},
		{"NL/focal_point", "/v1/directory/admissions/nonsense/cosign", http.StatusNotFound},
	} {
		if status, b := h.do("POST", tc.path, tc.who, "", nil); status != tc.want {
			t.Fatalf("%s %s: %d %s, want %d", tc.who, tc.path, status, b, tc.want)
		}
	}

	var co admissionAnswer
	if status, b := h.do("POST", cosign, "NL/focal_point", "{}", &co); status != http.StatusCreated {
		t.Fatalf("NL cosigning: %d %s", status, b)
	}
	if co.Op != ledger.OpCosignAdmission || co.Pending || co.Signatures != 2 || co.Needed != 2 || co.Authority != "DE-BKA" || co.Index <= prop.Index {
		t.Fatalf("cosign answer: %+v", co)
	}
	getDir()
	if len(dir.PendingAdmissions) != 0 || !hasAuthority("DE-BKA") {
		t.Fatalf("directory after the cosignature: %+v", dir)
	}
	a, ok := h.n.ledger().Directory().Authority("DE-BKA")
	if !ok || a.Keys[0].From != co.Index || !a.Keys[0].Sign.Equal(bka.Sign.Public()) {
		t.Fatalf("admitted authority: %+v", a)
	}
	// Closed: a third country's cosignature is a conflict.
	if status, b := h.do("POST", cosign, "FR/focal_point", "", nil); status != http.StatusConflict {
		t.Fatalf("cosigning a closed proposal: %d %s", status, b)
	}
	// The secretariat still admits alone, without a pending state.
	cus, err := crypto.GenerateIdentity(rand.Reader, "NL-CUSTOMS")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ = cus.PublicFile()
	req, _ = json.Marshal(map[string]string{"id": "NL-CUSTOMS", "node": "node1", "public_keys": string(pub)})
	var direct admissionAnswer
	if status, b := h.do("POST", "/v1/directory/authorities", "INT-INCB/focal_point", string(req), &direct); status != http.StatusCreated || direct.Pending {
		t.Fatalf("secretariat admitting: %d %s", status, b)
	}
	if _, ok := h.n.ledger().Directory().Authority("NL-CUSTOMS"); !ok {
		t.Fatal("NL-CUSTOMS not admitted")
	}
}
