package serve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/deai-network/deai/internal/errs"
)

// apiError is the OpenAI error object with its HTTP status.
type apiError struct {
	status  int
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// OpenAI error types.
const (
	typeInvalid   = "invalid_request_error"
	typeServer    = "server_error"
	typeRateLimit = "rate_limit_error"
)

func strp(s string) *string { return &s }

// Error codes in the "code" field.
const (
	codeModelNotFound    = "model_not_found"
	codeContextLength    = "context_length_exceeded"
	codeInvalidJSON      = "invalid_json"
	codeInvalidParam     = "invalid_value"
	codeMethodNotAllowed = "method_not_allowed"
	codeTooLarge         = "request_too_large"
	codeNotFound         = "not_found"
	codeQueueFull        = "rate_limit_exceeded"
	codeBusy             = "server_busy"
	codeInternal         = "internal_error"
)

// modelNotFoundError is returned for an unknown "model".
type modelNotFoundError struct{ model string }

func (e modelNotFoundError) Error() string {
	return "the model '" + e.model + "' does not exist"
}

// classify maps err once to the status and error object a client sees.
// Internal details of unclassified errors are not shown.
func classify(err error) apiError {
	var (
		pe  *ParamError
		mnf modelNotFoundError
		ij  errInvalidJSON
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return apiError{status: http.StatusRequestEntityTooLarge, Message: "request body too large", Type: typeInvalid, Code: strp(codeTooLarge)}
	case errors.As(err, &mnf):
		return apiError{status: http.StatusNotFound, Message: mnf.Error(), Type: typeInvalid, Param: strp("model"), Code: strp(codeModelNotFound)}
	case errors.Is(err, ErrContextLength):
		return apiError{status: http.StatusBadRequest, Message: err.Error(), Type: typeInvalid, Param: strp("messages"), Code: strp(codeContextLength)}
	case errors.As(err, &pe):
		return apiError{status: http.StatusBadRequest, Message: pe.Error(), Type: typeInvalid, Param: strp(pe.Param), Code: strp(codeInvalidParam)}
	case errors.As(err, &ij):
		return apiError{status: http.StatusBadRequest, Message: ij.Error(), Type: typeInvalid, Code: strp(codeInvalidJSON)}
	case errors.Is(err, ErrQueueFull):
		return apiError{status: http.StatusTooManyRequests, Message: "too many requests are waiting; retry later", Type: typeRateLimit, Code: strp(codeQueueFull)}
	case errors.Is(err, ErrBusy):
		return apiError{status: http.StatusServiceUnavailable, Message: "no generation slot became free in time; retry later", Type: typeServer, Code: strp(codeBusy)}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// Nobody is listening any more in the first case; 408 is the closest.
		return apiError{status: http.StatusRequestTimeout, Message: "request canceled", Type: typeInvalid}
	}
	switch errs.KindOf(err) {
	case errs.Invalid:
		return apiError{status: http.StatusBadRequest, Message: err.Error(), Type: typeInvalid, Code: strp(codeInvalidParam)}
	case errs.NotExist:
		return apiError{status: http.StatusNotFound, Message: err.Error(), Type: typeInvalid, Code: strp(codeNotFound)}
	case errs.Transient:
		return apiError{status: http.StatusServiceUnavailable, Message: "temporarily unavailable; retry later", Type: typeServer, Code: strp(codeBusy)}
	}
	return apiError{status: http.StatusInternalServerError, Message: "internal error", Type: typeServer, Code: strp(codeInternal)}
}

// errorBody is the JSON an error response carries.
func (e apiError) body() []byte {
	b, _ := json.Marshal(struct {
		Error apiError `json:"error"`
	}{e})
	return b
}

func writeAPIError(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	w.Write(append(e.body(), '\n'))
}
