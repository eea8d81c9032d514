// The locks of client-go v0.37: the Lease lock only. The elector is in ../elector.go.

package main

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// lockTypes are the values --lock accepts with this client-go version.
var lockTypes = []string{resourcelock.LeasesResourceLock}

func newLock(lockType, namespace, name string, cs kubernetes.Interface, rlc resourcelock.ResourceLockConfig) (resourcelock.Interface, error) {
	if lockType != resourcelock.LeasesResourceLock {
		return nil, fmt.Errorf("--lock=%q is not supported by client-go %s (supported: %s)", lockType, clientGoVersion(), strings.Join(lockTypes, ", "))
	}
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: namespace, Name: name},
		Client:     cs.CoordinationV1(),
		LockConfig: rlc,
	}, nil
}
