package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
)

// apiError is an OpenAI error object with its HTTP status: the text a
// client sees, separate from any detail the gateway logs.
type apiError struct {
	status  int
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

func strp(s string) *string { return &s }

func newAPIError(status int, typ, code, msg string) *apiError {
	return &apiError{status: status, Type: typ, Code: strp(code), Message: msg}
}

func paramError(param, msg string) *apiError {
	e := newAPIError(http.StatusBadRequest, "invalid_request_error", "invalid_value", msg)
	e.Param = strp(param)
	return e
}

var errUnauthorized = newAPIError(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
	"missing or invalid API key: send Authorization: Bearer <key>")

// classify maps err once to what the client sees.
func classify(err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	var pe *PaymentError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &pe):
		typ := "invalid_request_error"
		switch {
		case pe.Status == http.StatusPaymentRequired:
			typ = "insufficient_quota"
		case pe.Status >= 500:
			typ = "server_error"
		}
		return newAPIError(pe.Status, typ, pe.Code, pe.Message)
	case errors.As(err, &mbe):
		return newAPIError(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "the request body is too large")
	case errors.Is(err, errRateLimited):
		return newAPIError(http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", "too many requests for this API key; slow down")
	case errors.Is(err, errTooManyStreams):
		return newAPIError(http.StatusTooManyRequests, "rate_limit_error", "too_many_streams", "too many concurrent streams for this API key")
	case errors.Is(err, errTokenQuota):
		return newAPIError(http.StatusTooManyRequests, "tokens", "rate_limit_exceeded",
			"this API key's daily token quota does not cover this request (its max_tokens and prompt); try again tomorrow (UTC) or ask for fewer tokens")
	case errors.Is(err, errSpendCap):
		return newAPIError(http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota",
			"you exceeded this API key's spend cap (max_spend)")
	case errors.Is(err, errInsufficient):
		return newAPIError(http.StatusPaymentRequired, "insufficient_quota", "insufficient_quota",
			"the account's balance does not cover this request; deposit with POST /v1/deposits")
	case errors.Is(err, errDepositSeen):
		return newAPIError(http.StatusConflict, "invalid_request_error", "deposit_already_credited", "this deposit was already credited")
	}
	return newAPIError(http.StatusInternalServerError, "server_error", "internal_error", "internal error")
}

func writeError(w http.ResponseWriter, err error) {
	e := classify(err)
	b, _ := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{e})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client may have gone
}
