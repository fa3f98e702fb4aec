package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/penhub/penhub/crypto"
	"github.com/penhub/penhub/schema"
)

// Notice statuses (SPEC §5.2).
const (
	statusPending       = "pending"
	statusAcknowledged  = "acknowledged"
	statusNoObjection   = "no_objection"
	statusObjection     = "objection"
	statusInfoRequested = "info_requested"
	statusNoResponse    = "no_response"
	statusCancelled     = "cancelled"
	statusShipped       = "shipped"
	statusOpen          = "open"
	statusClosed        = "closed"
)

// deriveStatus computes a notice's status and current deadline from its body
// and its responses in log order, as of now.
func deriveStatus(env *crypto.Envelope, body json.RawMessage, responses []responseView, now time.Time) (string, string) {
	return deriveStatusFrom(schema.BodySummary(env.Subtype, body), env.Author, responses, now)
}

// deriveStatusFrom folds the responses over the status machine of SPEC §5.2.
// Timeliness is judged by each response's signed creation time: a decision
// created after the deadline's end (23:59:59 UTC of its day) does not count,
// and silence past the deadline is no_response, not an objection.
// Decisions count only from the authority allowed to make them (a hostile
// node could append others; the log cannot read the decision to refuse it):
// amended, cancelled and shipped only from sender; acknowledged and the
// decisions on the notice never from sender.
func deriveStatusFrom(f schema.Summary, sender string, responses []responseView, now time.Time) (string, string) {
	if f.Type != schema.TypePreExport {
		status := statusOpen
		for _, r := range responses {
			if !mayDecide(r, sender) {
				continue
			}
			switch r.Decision {
			case "acknowledged":
				if status == statusOpen {
					status = statusAcknowledged
				}
			case "cancelled":
				status = statusClosed
			}
		}
		return status, ""
	}
	deadline := f.Deadline
	status := statusPending
	final := func() bool {
		return slices.Contains([]string{statusNoObjection, statusObjection, statusCancelled, statusShipped, statusNoResponse}, status)
	}
	expire := func(at time.Time) {
		if end, ok := schema.ParseDeadline(deadline); ok && at.After(end) && !final() {
			status = statusNoResponse
		}
	}
	for _, r := range responses {
		expire(r.created)
		if !mayDecide(r, sender) {
			continue
		}
		switch r.Decision {
		case "acknowledged":
			if status == statusPending {
				status = statusAcknowledged
			}
		case "no_objection", "objection", "request_info":
			if final() || (f.ImporterCountry != "" && r.Author != f.ImporterCountry) {
				continue
			}
			status = map[string]string{"no_objection": statusNoObjection, "objection": statusObjection, "request_info": statusInfoRequested}[r.Decision]
		case "info":
			if status == statusInfoRequested {
				status = statusAcknowledged
			}
		case "amended":
			// An amendment resets the deadline: it revives a notice that
			// expired without a decision, not one that was decided.
			if status != statusNoObjection && status != statusObjection && status != statusCancelled && status != statusShipped {
				var ch struct {
					ResponseDeadline string `json:"response_deadline"`
				}
				if json.Unmarshal(r.Changes, &ch) == nil && ch.ResponseDeadline != "" {
					deadline = ch.ResponseDeadline
				}
				status = statusPending
			}
		case "cancelled":
			if status != statusShipped {
				status = statusCancelled
			}
		case "shipped":
			if status == statusNoObjection || status == statusNoResponse || status == statusShipped {
				status = statusShipped
			}
		}
	}
	expire(now)
	return status, deadline
}

// mayDecide reports whether response r may count for the status of a notice
// of sender: the sender alone amends, cancels and reports shipments, and never
// acknowledges or decides on its own notice.
func mayDecide(r responseView, sender string) bool {
	switch r.Decision {
	case "amended", "cancelled", "shipped":
		return r.Author == sender
	case "acknowledged", "no_objection", "objection", "request_info":
		return r.Author != sender
	}
	return true
}

// checkTransition enforces who may say what and when (SPEC §5.2) for a
// response by author to notice v, as of now. It answers 422
// invalid_transition with the reason.
func checkTransition(v *noticeView, author string, p schema.Response, now time.Time) *apiError {
	deny := func(format string, args ...any) *apiError {
		return errorf(http.StatusUnprocessableEntity, codeInvalidTransition, fmt.Sprintf(format, args...))
	}
	isSender := author == v.Sender
	isRecipient := slices.Contains(v.Recipients, author)
	f := schema.BodySummary(v.Type, v.Body)
	status, _ := deriveStatusFrom(f, v.Sender, v.Responses, now)
	closed := status == statusCancelled || status == statusShipped || status == statusClosed
	switch p.Decision {
	case "acknowledged":
		if !isRecipient {
			return deny("only a recipient may acknowledge a notice; %s is the sender", author)
		}
	case "no_objection", "objection", "request_info":
		if v.Type == schema.TypePreExport && author != f.ImporterCountry {
			return deny("only the importing country's authority (%s) may answer %s to a pre-export notification", f.ImporterCountry, p.Decision)
		}
		if !isRecipient {
			return deny("only a recipient may answer %s", p.Decision)
		}
		switch status {
		case statusNoObjection, statusObjection:
			return deny("a final decision (%s) has already been given", status)
		case statusNoResponse:
			return deny("the response deadline has passed without a decision (status no_response)")
		case statusCancelled, statusShipped, statusClosed:
			return deny("the notice is %s", status)
		}
	case "info":
		asked := slices.ContainsFunc(v.Responses, func(r responseView) bool { return r.Decision == "request_info" })
		if !asked {
			return deny("info answers a request_info, and none was made")
		}
		if !isSender && !isRecipient {
			return deny("only a party to the notice may give info")
		}
	case "amended":
		if !isSender {
			return deny("only the sender may amend a notice")
		}
		if closed || status == statusNoObjection || status == statusObjection {
			return deny("a %s notice can no longer be amended", status)
		}
		if _, fe := schema.ApplyAmendment(v.Type, v.Body, p.Changes, now); len(fe) > 0 {
			return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidationFailed, Message: problemCount(len(fe), "amendment"), Fields: fe}
		}
	case "cancelled":
		if !isSender {
			return deny("only the sender may cancel a notice")
		}
		if closed {
			return deny("the notice is already %s", status)
		}
	case "shipped":
		if !isSender {
			return deny("only the sender may report a shipment")
		}
		if v.Type != "pre_export" {
			return deny("shipments are reported on pre-export notifications only")
		}
		if status != statusNoObjection && status != statusNoResponse && status != statusShipped {
			return deny("a shipment may be reported only after no_objection or no_response, not while %s", status)
		}
		if status == statusShipped && f.ValidUntil == "" {
			return deny("this notice covers one shipment, already reported (set valid_until for multi-shipment notices)")
		}
		if f.ValidUntil != "" {
			if end, ok := schema.ParseDeadline(f.ValidUntil); ok && now.After(end) {
				return deny("the notice was valid until %s", f.ValidUntil)
			}
		}
		if p.Quantity == nil || *p.Quantity <= 0 {
			return deny("a shipment must state its quantity")
		}
		q, unit, ok := schema.NormalizeQuantity(*p.Quantity, p.Unit)
		if !ok {
			return deny("unknown unit %q for the shipped quantity", p.Unit)
		}
		notified := f.TotalQuantity[unit]
		var shipped float64
		for _, r := range v.Responses {
			if r.Decision == "shipped" && r.Author == v.Sender && r.Quantity != nil {
				if rq, ru, ok := schema.NormalizeQuantity(*r.Quantity, r.Unit); ok && ru == unit {
					shipped += rq
				}
			}
		}
		if shipped+q > notified*(1+1e-9) {
			return deny("shipping %g %s would exceed the notified quantity (%g %s notified, %g already shipped)", q, unit, notified, unit, shipped)
		}
	default:
		return deny("unknown decision %q", p.Decision)
	}
	return nil
}
