package watcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestClassifyError(t *testing.T) {
	gr := schema.GroupResource{Group: "batch", Resource: "jobs"}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &osSyscallError{syscall.ECONNREFUSED}}
	tests := []struct {
		err  error
		want string
	}{
		{apierrors.NewForbidden(gr, "", errors.New("rbac")), ErrForbidden},
		{fmt.Errorf("failed to list *v1.Job: %w", apierrors.NewForbidden(gr, "", errors.New("rbac"))), ErrForbidden},
		{apierrors.NewUnauthorized("token expired"), ErrUnauthorized},
		{apierrors.NewResourceExpired("too old resource version"), ErrExpired},
		{apierrors.NewGone("gone"), ErrExpired}, //nolint:staticcheck // older API servers answer an expired watch with a bare 410 Gone
		{refused, ErrUnreachable},
		{&recordedError{fmt.Errorf("wrapped: %w", refused)}, ErrUnreachable},
		{context.DeadlineExceeded, ErrUnreachable},
		{apierrors.NewServiceUnavailable("etcd down"), ErrUnreachable},
		{apierrors.NewTooManyRequests("slow down", 1), ErrUnreachable},
		{errors.New("something else"), ErrOther},
		{apierrors.NewBadRequest("bad"), ErrOther},
	}
	for _, tt := range tests {
		if got := ClassifyError(tt.err); got != tt.want {
			t.Errorf("ClassifyError(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

// osSyscallError mimics os.SyscallError around an errno, as the dialer
// returns it.
type osSyscallError struct{ errno syscall.Errno }

func (e *osSyscallError) Error() string { return "connect: " + e.errno.Error() }
func (e *osSyscallError) Unwrap() error { return e.errno }
