// The locks of client-go v0.23: leases and the legacy Endpoints/ConfigMap annotation locks
// (plain and as MultiLocks with a Lease). The elector is in ../elector.go.

package main

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// lockTypes are the values --lock accepts with this client-go version (v0.23 is the last line
// with the plain endpoints/configmaps locks; v0.24-v0.27 keep only the *leases MultiLocks).
var lockTypes = []string{
	resourcelock.LeasesResourceLock,
	resourcelock.EndpointsResourceLock,
	resourcelock.ConfigMapsResourceLock,
	resourcelock.EndpointsLeasesResourceLock,
	resourcelock.ConfigMapsLeasesResourceLock,
}

func newLock(lockType, namespace, name string, cs kubernetes.Interface, rlc resourcelock.ResourceLockConfig) (resourcelock.Interface, error) {
	for _, t := range lockTypes {
		if t == lockType {
			return resourcelock.New(lockType, namespace, name, cs.CoreV1(), cs.CoordinationV1(), rlc)
		}
	}
	return nil, fmt.Errorf("--lock=%q is not supported by client-go %s (supported: %s)", lockType, clientGoVersion(), strings.Join(lockTypes, ", "))
}

// coordinate: Coordinated Leader Election came with client-go v0.31.
func coordinate(context.Context, kubernetes.Interface, *leaderelection.LeaderElectionConfig, string, string, string, string, string) error {
	return fmt.Errorf("--coordinated is not supported by client-go %s (it came with v0.31)", clientGoVersion())
}

// newEventRecorder: the interop tests compare Events with client-go v0.37 only.
func newEventRecorder(kubernetes.Interface, string) (resourcelock.EventRecorder, func(), error) {
	return nil, nil, fmt.Errorf("--event-component is supported by the v0.37 peer only")
}
