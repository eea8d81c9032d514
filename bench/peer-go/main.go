// Command peer-go is the client-go side of tenure's protocol benchmark (bench/protocol.ts): the
// same measurements, made with client-go's own LeaderElector (k8s.io/client-go v0.37.2) on an
// in-memory resourcelock.Interface, so the two can be compared in one run on one machine; and of
// the CPU time per renew on the real cluster in bench/client-go.ts (lease.go).
//
//	peer-go renew  -seconds 1.5      renew attempts per second, and CPU time per renew, of one leading LeaderElector
//	peer-go memory -electors 10000   memory of N idle LeaderElectors, each leading its own lock
//	peer-go lease  -server URL ...   CPU time per renew of one leader of a real Lease
//
// Each mode prints one JSON object on stdout; logs go to stderr (klog's output is discarded).
//
// renew: client-go's renew loop cannot run on a fake clock (wait.UntilWithContext and
// wait.PollUntilContextTimeout use real timers), so RetryPeriod is 1 ns, the smallest valid value,
// and LeaseDuration/RenewDeadline stay 15 s/10 s so that every renew takes the fast path (an
// Update of the cached record, no Get), as a leader's renewals do with the real defaults. What is
// measured is then the elector's own cost per renew attempt: the loop, its timers and contexts,
// building the record, and the in-memory lock's Update.
//
// memory: RetryPeriod 20 s, RenewDeadline 40 s, LeaseDuration 60 s, so that nothing renews while
// the heap is measured; every elector is running (its renew loop parked on a timer) and leading.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/leaderelection"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

var leases = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}

// memLock is an in-memory resourcelock.Interface with LeaseLock's observable behaviour: Get
// returns a copy of the record and its JSON (LeaseLock.Get marshals the record for the elector's
// change detection), NotFound before Create, AlreadyExists on a second Create.
type memLock struct {
	mu       sync.Mutex
	name     string
	identity string
	record   *rl.LeaderElectionRecord
	version  int64
	updates  *atomic.Int64
}

func (l *memLock) Get(context.Context) (*rl.LeaderElectionRecord, []byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.record == nil {
		return nil, nil, apierrors.NewNotFound(leases, l.name)
	}
	record := *l.record
	raw, err := json.Marshal(record)
	if err != nil {
		return nil, nil, err
	}
	return &record, raw, nil
}

func (l *memLock) Create(_ context.Context, ler rl.LeaderElectionRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.record != nil {
		return apierrors.NewAlreadyExists(leases, l.name)
	}
	l.record = &ler
	l.version++
	return nil
}

func (l *memLock) Update(_ context.Context, ler rl.LeaderElectionRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.record == nil {
		return fmt.Errorf("lease not initialized, call get or create first")
	}
	l.record = &ler
	l.version++
	if l.updates != nil {
		l.updates.Add(1)
	}
	return nil
}

func (l *memLock) RecordEvent(string) {}
func (l *memLock) Identity() string   { return l.identity }
func (l *memLock) Describe() string   { return "bench/" + l.name }

func elector(lock rl.Interface, name string, lease, renew, retry time.Duration, started func(context.Context)) *leaderelection.LeaderElector {
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          lock,
		LeaseDuration: lease,
		RenewDeadline: renew,
		RetryPeriod:   retry,
		Name:          name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: started,
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		fail("invalid config: %v", err)
	}
	return le
}

func renewMode(args []string) {
	fs := flag.NewFlagSet("renew", flag.ExitOnError)
	seconds := fs.Float64("seconds", 1.5, "how long to measure")
	warmup := fs.Float64("warmup", 0.3, "seconds of renewals before measuring")
	_ = fs.Parse(args)

	updates := &atomic.Int64{}
	lock := &memLock{name: "renew", identity: "bench", updates: updates}
	leading := make(chan struct{})
	le := elector(lock, lock.name, 15*time.Second, 10*time.Second, time.Nanosecond, func(context.Context) { close(leading) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { le.Run(ctx); close(done) }()
	<-leading
	time.Sleep(time.Duration(*warmup * float64(time.Second)))

	before, start, cpu0 := updates.Load(), time.Now(), cpuSeconds()
	time.Sleep(time.Duration(*seconds * float64(time.Second)))
	after, elapsed, cpu := updates.Load(), time.Since(start), cpuSeconds()-cpu0
	cancel()
	<-done
	out(map[string]any{
		"mode":              "renew",
		"renews":            after - before,
		"seconds":           elapsed.Seconds(),
		"renewsPerSecond":   float64(after-before) / elapsed.Seconds(),
		"cpuSeconds":        cpu,
		"cpuMicrosPerRenew": cpu * 1e6 / float64(after-before),
		"gomaxprocs":        runtime.GOMAXPROCS(0),
		"go":                runtime.Version(),
		"retryPeriodNanos":  1,
	})
}

type snapshot struct {
	heap, stack, sys, rss uint64
	goroutines            int
}

func measure() snapshot {
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return snapshot{heap: m.HeapAlloc, stack: m.StackInuse, sys: m.Sys, rss: rss(), goroutines: runtime.NumGoroutine()}
}

// cpuSeconds is the process's user + system CPU time so far: every goroutine, the timers and the
// GC included, on however many cores they ran.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// rss reads the resident set size from /proc/self/statm (Linux).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(fields[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func memoryMode(args []string) {
	fs := flag.NewFlagSet("memory", flag.ExitOnError)
	n := fs.Int("electors", 10000, "how many electors")
	_ = fs.Parse(args)

	// Warm up: the first electors initialise package-level state (metrics, klog) once.
	warm(100)
	base := measure()

	var leaders atomic.Int64
	all := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	electors := make([]*leaderelection.LeaderElector, *n)
	for i := 0; i < *n; i++ {
		lock := &memLock{name: fmt.Sprintf("lease-%d", i), identity: fmt.Sprintf("elector-%d", i)}
		electors[i] = elector(lock, lock.name, 60*time.Second, 40*time.Second, 20*time.Second, func(context.Context) {
			if leaders.Add(1) == int64(*n) {
				close(all)
			}
		})
		wg.Add(1)
		go func(le *leaderelection.LeaderElector) { defer wg.Done(); le.Run(ctx) }(electors[i])
	}
	select {
	case <-all:
	case <-time.After(15 * time.Second):
		fail("only %d of %d electors lead after 15 s", leaders.Load(), *n)
	}
	// Let the OnStartedLeading goroutines end and every renew loop park on its timer.
	time.Sleep(500 * time.Millisecond)
	after := measure()
	leading := 0
	for _, le := range electors {
		if le.IsLeader() {
			leading++
		}
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(*n) }
	out(map[string]any{
		"mode":                 "memory",
		"electors":             *n,
		"leading":              leading,
		"heapBytesPerElector":  per(after.heap, base.heap),
		"stackBytesPerElector": per(after.stack, base.stack),
		"bytesPerElector":      per(after.heap+after.stack, base.heap+base.stack),
		"rssBytesPerElector":   per(after.rss, base.rss),
		"sysBytesPerElector":   per(after.sys, base.sys),
		"goroutinesPerElector": float64(after.goroutines-base.goroutines) / float64(*n),
		"gomaxprocs":           runtime.GOMAXPROCS(0),
		"go":                   runtime.Version(),
		"leaseDurationSeconds": 60,
		"renewDeadlineSeconds": 40,
		"retryPeriodSeconds":   20,
	})
	cancel()
	wg.Wait()
}

func warm(n int) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var leaders sync.WaitGroup
	leaders.Add(n)
	for i := 0; i < n; i++ {
		lock := &memLock{name: fmt.Sprintf("warm-%d", i), identity: "warm"}
		le := elector(lock, lock.name, 60*time.Second, 40*time.Second, 20*time.Second, func(context.Context) { leaders.Done() })
		wg.Add(1)
		go func() { defer wg.Done(); le.Run(ctx) }()
	}
	leaders.Wait()
	cancel()
	wg.Wait()
}

func out(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fail("%v", err)
	}
	fmt.Println(string(b))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peer-go: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	if len(os.Args) < 2 {
		fail("usage: peer-go renew|memory|lease [flags]")
	}
	switch os.Args[1] {
	case "renew":
		renewMode(os.Args[2:])
	case "memory":
		memoryMode(os.Args[2:])
	case "lease":
		leaseMode(os.Args[2:])
	default:
		fail("unknown mode %q (renew, memory, lease)", os.Args[1])
	}
}
