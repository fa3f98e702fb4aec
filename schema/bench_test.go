package schema

import (
	"bytes"
	"fmt"
	"testing"
)

// bigRequest is a pre_export of about size bytes whose every item has two problems.
func bigRequest(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"pre_export","recipients":["NL"],"body":{"items":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"substance":"Unobtainium %d","cas":"103-79-8","quantity":-1,"unit":"kg"}`, i)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

// TestLargeRequestIsLinear guards against quadratic work on a 1 MiB request (the API's cap):
// it must finish, with every problem reported.
func TestLargeRequestIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("large request")
	}
	data := bigRequest(1 << 20)
	req, err := DecodeNoticeRequest(data)
	if err != nil {
		t.Fatal(err)
	}
	errs := ValidateNotice(req, testNow)
	items := len(req.Decoded().(*PreExport).Items)
	if len(errs) < items {
		t.Errorf("%d problems for %d items", len(errs), items)
	}
}

func BenchmarkDecodeValidatePreExport(b *testing.B) {
	data := []byte(basePreExport)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		req, err := DecodeNoticeRequest(data)
		if err != nil {
			b.Fatal(err)
		}
		if errs := ValidateNotice(req, testNow); errs != nil {
			b.Fatal(errs)
		}
	}
}

func BenchmarkDecodeValidate1MiB(b *testing.B) {
	data := bigRequest(1 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		req, err := DecodeNoticeRequest(data)
		if err != nil {
			b.Fatal(err)
		}
		_ = ValidateNotice(req, testNow)
	}
}
