// Coordinated Leader Election and leader election Events with client-go v0.37: as
// kube-controller-manager wires them (see ../elector.go for the flags).

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
)

// coordinate starts this process's LeaseCandidate and makes the elector coordinated.
func coordinate(ctx context.Context, cs kubernetes.Interface, lec *leaderelection.LeaderElectionConfig, namespace, identity, leaseName, binaryVersion, emulationVersion string) error {
	candidate, waiter, err := leaderelection.NewCandidate(cs, namespace, identity, leaseName, binaryVersion, emulationVersion, coordinationv1.OldestEmulationVersion)
	if err != nil {
		return fmt.Errorf("NewCandidate: %w", err)
	}
	go candidate.Run(ctx)
	waiter.WaitForCacheSync(ctx.Done())
	lec.Coordinated = true
	return nil
}

// countingRecorder and countingSink let the peer wait, before exiting, until every recorded
// event has been written (or failed), since the broadcaster writes them asynchronously.
type counter struct {
	mu             sync.Mutex
	recorded, sent int
}

func (c *counter) add(recorded, sent int) {
	c.mu.Lock()
	c.recorded += recorded
	c.sent += sent
	c.mu.Unlock()
}

func (c *counter) done() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent >= c.recorded
}

type countingRecorder struct {
	record.EventRecorder
	c *counter
}

func (r countingRecorder) Eventf(obj runtime.Object, eventType, reason, message string, args ...interface{}) {
	r.c.add(1, 0)
	r.EventRecorder.Eventf(obj, eventType, reason, message, args...)
}

type countingSink struct {
	record.EventSink
	c *counter
}

func (s countingSink) Create(e *corev1.Event) (*corev1.Event, error) {
	defer s.c.add(0, 1)
	return s.EventSink.Create(e)
}

func (s countingSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	defer s.c.add(0, 1)
	return s.EventSink.Patch(e, data)
}

// newEventRecorder records Events as kube-controller-manager does (source component given).
func newEventRecorder(cs kubernetes.Interface, component string) (resourcelock.EventRecorder, func(), error) {
	c := &counter{}
	broadcaster := record.NewBroadcaster()
	broadcaster.StartStructuredLogging(klog.Level(2))
	broadcaster.StartRecordingToSink(countingSink{EventSink: &typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")}, c: c})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
	flush := func() {
		for deadline := time.Now().Add(5 * time.Second); !c.done() && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		broadcaster.Shutdown()
	}
	return countingRecorder{EventRecorder: recorder, c: c}, flush, nil
}
