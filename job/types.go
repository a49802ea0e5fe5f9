package job

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

type metav1OwnerReference = metav1.OwnerReference

// ControllerOf returns the controlling owner reference (controller: true)
// of an object, or nil.
func ControllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference { return controllerRef(refs) }
