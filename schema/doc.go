// Package schema defines the notice and response requests of penhub, decodes them strictly
// and validates them, and holds the reference data they are checked against: the substance
// catalogue (Table I, Table II and the watched non-scheduled chemicals, embedded from
// substances.csv) and the ISO 3166-1 alpha-2 country codes.
//
// schema is a leaf package: it imports nothing of penhub's, so the node, the consensus layer
// (which re-validates decrypted bodies) and the command line can all depend on it.
//
// # Decoding
//
// [DecodeNoticeRequest] and [DecodeResponseRequest] are strict: unknown fields, duplicate
// keys, values of the wrong JSON type, invalid UTF-8 and data after the value are errors. A
// JSON null is the same as leaving the field out. The error is a [*DecodeError] naming the
// JSON path of the offending value (`body.items[0].cas`); an HTTP API answers it with 400
// bad_request. Decoding fills defaults (handling H0, item form "base").
//
// # Validating
//
// [ValidateNotice] and [ValidateResponse] report every problem at once as [FieldErrors]
// (422 validation_failed), each with the JSON path of the field, a short snake_case code and
// a sentence a national focal point understands. Rules that depend on the date (response
// deadlines, valid_until, occurred_on) take "now" as a parameter; nothing here reads the
// clock. A recipient re-validating a decrypted body passes the entry's signed creation time.
//
// Usage on a node:
//
//  1. req, err := schema.DecodeNoticeRequest(httpBody) — on error answer 400.
//  2. if errs := schema.ValidateNotice(req, now); errs != nil — answer 422 with errs.
//  3. seal req.Body (exactly as sent) inside a [Notice]; recipients call [ValidateNotice]
//     again on a request rebuilt from the envelope header and the decrypted body.
//  4. [BodySummary] gives the few facts a node needs in clear for its own indexes and status
//     (deadline, importer country, substances, countries, quantities).
//
// The package keeps one shared validator instance (validator/v10), built at init; all
// functions are safe for concurrent use.
package schema
