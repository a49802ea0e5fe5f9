package watcher

import (
	"context"
	"errors"
	"net"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Reasons for list/watch errors, the bounded values of the reason label of
// kubejob_exporter_watch_errors_total.
const (
	ErrForbidden    = "forbidden"
	ErrUnauthorized = "unauthorized"
	ErrUnreachable  = "unreachable"
	ErrExpired      = "expired"
	ErrOther        = "other"
)

// ErrorReasons lists the reasons.
var ErrorReasons = []string{ErrForbidden, ErrUnauthorized, ErrUnreachable, ErrExpired, ErrOther}

// ClassifyError tells what kind of failure a list or watch error is.
func ClassifyError(err error) string {
	switch {
	case apierrors.IsForbidden(err):
		return ErrForbidden
	case apierrors.IsUnauthorized(err):
		return ErrUnauthorized
	case apierrors.IsResourceExpired(err) || apierrors.IsGone(err):
		return ErrExpired
	case errors.Is(err, errShortWatch),
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err),
		errors.Is(err, context.DeadlineExceeded), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsTooManyRequests(err):
		return ErrUnreachable
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return ErrUnreachable
	}
	return ErrOther
}
