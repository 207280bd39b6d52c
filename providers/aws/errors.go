package aws

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/skyplan/skyplan/internal/deadline"
)

// opError names the resource, the AWS call and the region of a failed call,
// and shortens the SDK's message to "Code: message".
type opError struct {
	Address string
	Op      string
	Region  string
	Err     error
}

func (e *opError) Error() string {
	where := e.Op
	if e.Region != "" {
		where += " in " + e.Region
	}
	if e.Address != "" {
		where = e.Address + ": " + where
	}
	return where + ": " + describeErr(e.Err)
}

func (e *opError) Unwrap() error { return e.Err }

func wrapErr(addr, op, region string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{Address: addr, Op: op, Region: region, Err: err}
}

// describeErr gives "Code: message" for AWS API errors, the endpoint for
// calls that got no answer, else the error text.
func describeErr(err error) string {
	var te *deadline.TimeoutError
	if errors.As(err, &te) {
		return te.Error()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if msg := api.ErrorMessage(); msg != "" {
			return fmt.Sprintf("%s: %s", api.ErrorCode(), msg)
		}
		return api.ErrorCode()
	}
	return err.Error()
}

// errorCode returns the AWS error code, or "".
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// errorMessage returns the AWS error message, or "".
func errorMessage(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorMessage()
	}
	return ""
}

func hasCode(err error, codes ...string) bool {
	c := errorCode(err)
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}
