package main

// lease: the CPU time one client-go leader spends per renew of a real Lease on a real API server
// (bench/client-go.ts runs it next to tenure's bench/support/tenure-renew.ts, same flags, same
// output). The process first idles with its client built (after 2 s for start-up to end), to
// measure what it costs doing nothing; then it leads, and after the warm-up renewals it measures
// its own CPU time (getrusage: user + system) over the next -renews successful renewals (Lease
// updates). The cost per renew is that CPU time, less the idle rate over the same span, divided by
// the renewals: the elector's loop, building the record, encoding, the HTTP/2 request over TLS,
// and decoding the answer.

import (
	"context"
	"flag"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
)

// countingLock counts the lock's successful updates and says when `target` is reached, so that
// nothing polls while CPU time is measured.
type countingLock struct {
	rl.Interface
	updates atomic.Int64
	target  atomic.Int64
	reached chan struct{}
}

func (l *countingLock) Update(ctx context.Context, ler rl.LeaderElectionRecord) error {
	err := l.Interface.Update(ctx, ler)
	if err == nil && l.updates.Add(1) == l.target.Load() {
		l.reached <- struct{}{}
	}
	return err
}

// await returns once `n` more updates than now have succeeded, or fails after `limit`.
func (l *countingLock) await(n int64, limit time.Duration) int64 {
	start := l.updates.Load()
	l.target.Store(start + n)
	select {
	case <-l.reached:
	case <-time.After(limit):
		fail("only %d of %d renewals within %s", l.updates.Load()-start, n, limit)
	}
	return l.updates.Load() - start
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime() (user, system time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

func leaseMode(args []string) {
	fs := flag.NewFlagSet("lease", flag.ExitOnError)
	server := fs.String("server", "", "API server URL")
	caFile := fs.String("ca-file", "", "CA bundle of the API server")
	tokenFile := fs.String("token-file", "", "bearer token file")
	namespace := fs.String("namespace", "default", "the Lease's namespace")
	name := fs.String("name", "", "the Lease's name")
	identity := fs.String("identity", "bench", "holder identity")
	leaseDuration := fs.Duration("lease-duration", 15*time.Second, "")
	renewDeadline := fs.Duration("renew-deadline", 10*time.Second, "")
	retryPeriod := fs.Duration("retry-period", time.Second, "")
	idle := fs.Duration("idle", 5*time.Second, "how long to measure the idle process")
	warmup := fs.Int("warmup", 30, "renewals before measuring")
	renews := fs.Int("renews", 120, "renewals to measure")
	_ = fs.Parse(args)
	if *server == "" || *name == "" || *tokenFile == "" {
		fail("lease: -server, -token-file and -name are required")
	}

	client, err := coordinationv1.NewForConfig(&rest.Config{
		Host:            *server,
		BearerTokenFile: *tokenFile,
		TLSClientConfig: rest.TLSClientConfig{CAFile: *caFile},
	})
	if err != nil {
		fail("lease: client: %v", err)
	}
	lock := &countingLock{
		Interface: &rl.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: *namespace, Name: *name},
			Client:     client,
			LockConfig: rl.ResourceLockConfig{Identity: *identity},
		},
		reached: make(chan struct{}, 1),
	}

	// Start-up work goes on for a moment after main begins: not idle.
	time.Sleep(2 * time.Second)
	u0, s0 := cpuTime()
	idleStart := time.Now()
	time.Sleep(*idle)
	u1, s1 := cpuTime()
	idleSeconds := time.Since(idleStart).Seconds()
	idleCPU := (u1 - u0 + s1 - s0).Seconds()

	leading := make(chan struct{})
	le := elector(lock, *name, *leaseDuration, *renewDeadline, *retryPeriod, func(context.Context) { close(leading) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { le.Run(ctx); close(done) }()
	select {
	case <-leading:
	case <-time.After(30 * time.Second):
		fail("lease: not leading after 30 s")
	}
	limit := time.Duration(*renews+*warmup)**retryPeriod*3 + 60*time.Second
	lock.await(int64(*warmup), limit)

	u2, s2 := cpuTime()
	start := time.Now()
	n := lock.await(int64(*renews), limit)
	u3, s3 := cpuTime()
	seconds := time.Since(start).Seconds()
	cancel()
	<-done

	user, system := (u3 - u2).Seconds(), (s3 - s2).Seconds()
	idleRate := idleCPU / idleSeconds
	out(map[string]any{
		"mode":                 "lease",
		"implementation":       "client-go",
		"renews":               n,
		"seconds":              seconds,
		"renewsPerSecond":      float64(n) / seconds,
		"cpuUserSeconds":       user,
		"cpuSystemSeconds":     system,
		"idleSeconds":          idleSeconds,
		"idleCpuSeconds":       idleCPU,
		"cpuMicrosPerRenew":    (user + system - idleRate*seconds) / float64(n) * 1e6,
		"retryPeriodMs":        retryPeriod.Milliseconds(),
		"leaseDurationSeconds": leaseDuration.Seconds(),
		"renewDeadlineSeconds": renewDeadline.Seconds(),
		"gomaxprocs":           runtime.GOMAXPROCS(0),
		"go":                   runtime.Version(),
	})
}
