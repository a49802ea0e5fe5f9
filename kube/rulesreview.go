package kube

import (
	"context"
	"errors"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RulesReviewer is a Client that can ask for a SelfSubjectRulesReview:
// every rule that lets the exporter act in one namespace, in one request
// (allowed, like access reviews, to every authenticated user). The
// production client is one.
type RulesReviewer interface {
	CreateSelfSubjectRulesReview(ctx context.Context, review *authorizationv1.SelfSubjectRulesReview) (*authorizationv1.SelfSubjectRulesReview, error)
}

// ErrNoRulesReview says that a client cannot make rules reviews: ask
// access reviews instead.
var ErrNoRulesReview = errors.New("this client makes no rules reviews")

// CreateSelfSubjectRulesReview asks c for a rules review, if it can make
// them (RulesReviewer), else returns ErrNoRulesReview.
func CreateSelfSubjectRulesReview(ctx context.Context, c Client, review *authorizationv1.SelfSubjectRulesReview) (*authorizationv1.SelfSubjectRulesReview, error) {
	if r, ok := c.(RulesReviewer); ok {
		return r.CreateSelfSubjectRulesReview(ctx, review)
	}
	return nil, ErrNoRulesReview
}

func (c *restClient) CreateSelfSubjectRulesReview(ctx context.Context, review *authorizationv1.SelfSubjectRulesReview) (*authorizationv1.SelfSubjectRulesReview, error) {
	opts := metav1.CreateOptions{}
	out := &authorizationv1.SelfSubjectRulesReview{}
	err := c.authorization.Post().
		UseProtobufAsDefaultIfPreferred(true).
		Resource("selfsubjectrulesreviews").
		VersionedParams(&opts, parameterCodec).
		Body(review).
		Do(ctx).
		Into(out)
	return out, err
}
