// Command peer runs client-go's own leader elector (k8s.io/client-go/tools/leaderelection) so
// tenure's interop tests can contend with the reference implementation. This file is shared by
// every version: v0.xx/elector.go links here, and v0.xx/main.go builds that version's locks.
//
// It prints one JSON object per line on stdout:
//
//	{"event":"ready","identity":"a","mono_ns":123,"wall":"...","client_go":"v0.37.2","lock":"leases"}
//	{"event":"new_leader","identity":"a","leader":"b","mono_ns":124,"wall":"..."}
//	{"event":"started","identity":"a","mono_ns":125,"wall":"..."}
//	{"event":"stopped","identity":"a","mono_ns":126,"wall":"..."}
//
// With --act-every=D (the chaos suite) the leader also runs a work loop: every D, while the
// context OnStartedLeading got is live, it prints
//
//	{"event":"act","identity":"a","transitions":3,"mono_ns":127,"wall":"..."}
//
// transitions being the leaseTransitions of the record this process last wrote as holder (its
// term's fencing number, read from a wrapper around the lock, since the elector keeps its
// observed record private).
//
// mono_ns is CLOCK_MONOTONIC in nanoseconds, the clock behind Node's process.hrtime.bigint() on
// Linux, so timestamps from this process and from a Node test runner can be compared directly.
// Logs and errors go to stderr (klog flags such as --v=4 are accepted).
//
// With --coordinated (client-go v0.31+), the peer runs as kube-controller-manager does under
// Coordinated Leader Election: a LeaseCandidate named after its identity (leaderelection.NewCandidate,
// with --binary-version and --emulation-version, strategy OldestEmulationVersion) and the elector
// with Coordinated: true. With --event-component=C it records client-go's leader election Events
// through an EventRecorder whose source component is C, and flushes them before exiting.
//
// SIGTERM/SIGINT cancel the elector's context: with --release-on-cancel the Lease is released,
// OnStoppedLeading runs ("stopped") and the process exits 0. If leadership is lost without a
// signal, the process exits 1 after "stopped" (the usual client-go convention), unless --rejoin
// is set, in which case a fresh elector campaigns again.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

type event struct {
	Event    string  `json:"event"`
	Identity string  `json:"identity"`
	Leader   *string `json:"leader,omitempty"`
	MonoNs   int64   `json:"mono_ns"`
	Wall     string  `json:"wall"`
	ClientGo string  `json:"client_go,omitempty"`
	Lock     string  `json:"lock,omitempty"`

	// Transitions is set on "act" lines only.
	Transitions *int32 `json:"transitions,omitempty"`
}

var outMu sync.Mutex

func monoNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

func emit(e event) {
	outMu.Lock()
	defer outMu.Unlock()
	e.MonoNs = monoNow()
	e.Wall = time.Now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	// One write per line so a reader never sees a partial line from two goroutines.
	if _, err := os.Stdout.Write(append(b, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "peer: writing to stdout: %v\n", err)
	}
}

func clientGoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/client-go" {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

// tokenFileRoundTripper reads the bearer token from a file for every request, so tests can
// rotate or revoke the token while the peer runs.
type tokenFileRoundTripper struct {
	path string
	rt   http.RoundTripper
}

func (t *tokenFileRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	b, err := os.ReadFile(t.path)
	if err != nil {
		return nil, fmt.Errorf("reading --token-file: %w", err)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	return t.rt.RoundTrip(req)
}

// recordingLock remembers the leaseTransitions of the last record this process wrote as holder
// (Create or Update that succeeded), which is its current term's number while it leads.
type recordingLock struct {
	resourcelock.Interface
	transitions atomic.Int32
}

func (l *recordingLock) remember(ler resourcelock.LeaderElectionRecord, err error) error {
	if err == nil && ler.HolderIdentity == l.Identity() {
		l.transitions.Store(int32(ler.LeaderTransitions))
	}
	return err
}

func (l *recordingLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return l.remember(ler, l.Interface.Create(ctx, ler))
}

func (l *recordingLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return l.remember(ler, l.Interface.Update(ctx, ler))
}

// work acts every `every` while ctx is live, as a leader's work would.
func work(ctx context.Context, id string, every time.Duration, lock *recordingLock) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		t := lock.transitions.Load()
		emit(event{Event: "act", Identity: id, Transitions: &t})
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peer: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	var (
		server           = flag.String("server", "", "API server URL, e.g. https://127.0.0.1:6443")
		tokenFile        = flag.String("token-file", "", "file holding the bearer token; re-read for every request")
		caFile           = flag.String("ca-file", "", "CA bundle for the API server's certificate")
		kubeconfig       = flag.String("kubeconfig", "", "kubeconfig file (alternative to --server/--token-file/--ca-file, which override it when given)")
		namespace        = flag.String("namespace", "default", "namespace of the lock object")
		name             = flag.String("name", "", "name of the lock object (required)")
		identity         = flag.String("identity", "", "this candidate's identity (default: hostname_pid)")
		leaseDuration    = flag.Duration("lease-duration", 15*time.Second, "LeaseDuration")
		renewDeadline    = flag.Duration("renew-deadline", 10*time.Second, "RenewDeadline")
		retryPeriod      = flag.Duration("retry-period", 2*time.Second, "RetryPeriod")
		releaseOnCancel  = flag.Bool("release-on-cancel", false, "ReleaseOnCancel: release the lock when the context is cancelled (SIGTERM)")
		lockType         = flag.String("lock", resourcelock.LeasesResourceLock, "lock type: "+strings.Join(lockTypes, ", "))
		httpTimeout      = flag.Duration("http-timeout", 0, "HTTP client timeout (default: max(1s, renew-deadline/2), as resourcelock.NewFromKubeconfig sets)")
		rejoin           = flag.Bool("rejoin", false, "after losing leadership (without a signal), campaign again with a fresh elector instead of exiting 1")
		actEvery         = flag.Duration("act-every", 0, "while leading (the context OnStartedLeading got is live), print an \"act\" line every this often (0: never)")
		coordinated      = flag.Bool("coordinated", false, "coordinated leader election: a LeaseCandidate (NewCandidate) and Coordinated: true")
		binaryVersion    = flag.String("binary-version", "1.0.0", "with --coordinated: the LeaseCandidate's binaryVersion")
		emulationVersion = flag.String("emulation-version", "", "with --coordinated: the LeaseCandidate's emulationVersion (default: --binary-version)")
		eventComponent   = flag.String("event-component", "", "record leader election Events with this source component (empty: no EventRecorder, as by default)")
	)
	klog.InitFlags(nil)
	flag.Parse()
	if flag.NArg() > 0 {
		fail(2, "unexpected arguments: %v", flag.Args())
	}
	if *name == "" {
		fail(2, "--name is required")
	}
	if *kubeconfig == "" && *server == "" {
		fail(2, "either --kubeconfig or --server is required")
	}
	if *identity == "" {
		h, _ := os.Hostname()
		*identity = fmt.Sprintf("%s_%d", h, os.Getpid())
	}

	// Signals first, so a SIGTERM that arrives during start-up still ends the run cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var cfg *rest.Config
	var err error
	if *kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags(*server, *kubeconfig)
		if err != nil {
			fail(2, "loading --kubeconfig: %v", err)
		}
	} else {
		cfg = &rest.Config{Host: *server}
	}
	if *caFile != "" {
		cfg.TLSClientConfig.CAFile = *caFile
		cfg.TLSClientConfig.CAData = nil
	}
	if *tokenFile != "" {
		if _, err := os.ReadFile(*tokenFile); err != nil {
			fail(2, "reading --token-file: %v", err)
		}
		cfg.BearerToken, cfg.BearerTokenFile = "", ""
		path := *tokenFile
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &tokenFileRoundTripper{path: path, rt: rt} })
	}
	cfg.QPS, cfg.Burst = 1000, 1000 // never let client-side throttling shape the timing
	cfg.Timeout = *httpTimeout
	if cfg.Timeout == 0 {
		cfg.Timeout = *renewDeadline / 2
		if cfg.Timeout < time.Second {
			cfg.Timeout = time.Second
		}
	}
	cfg = rest.AddUserAgent(cfg, "leader-election")
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fail(2, "creating client: %v", err)
	}

	rlc := resourcelock.ResourceLockConfig{Identity: *identity}
	flush := func() {}
	if *eventComponent != "" {
		if rlc.EventRecorder, flush, err = newEventRecorder(cs, *eventComponent); err != nil {
			fail(2, "%v", err)
		}
	}
	inner, err := newLock(*lockType, *namespace, *name, cs, rlc)
	if err != nil {
		fail(2, "%v", err)
	}
	lock := &recordingLock{Interface: inner}

	id := *identity
	lec := leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   *leaseDuration,
		RenewDeadline:   *renewDeadline,
		RetryPeriod:     *retryPeriod,
		ReleaseOnCancel: *releaseOnCancel,
		Name:            *name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				emit(event{Event: "started", Identity: id})
				if *actEvery > 0 {
					work(ctx, id, *actEvery, lock)
				}
			},
			OnStoppedLeading: func() { emit(event{Event: "stopped", Identity: id}) },
			OnNewLeader: func(leader string) {
				l := leader
				emit(event{Event: "new_leader", Identity: id, Leader: &l})
			},
		},
	}
	if *coordinated {
		ev := *emulationVersion
		if ev == "" {
			ev = *binaryVersion
		}
		if err := coordinate(ctx, cs, &lec, *namespace, *identity, *name, *binaryVersion, ev); err != nil {
			fail(2, "%v", err)
		}
	}
	le, err := leaderelection.NewLeaderElector(lec)
	if err != nil {
		fail(2, "invalid leader election config: %v", err)
	}

	emit(event{Event: "ready", Identity: id, ClientGo: clientGoVersion(), Lock: *lockType})
	for {
		le.Run(ctx) // returns after OnStoppedLeading
		if ctx.Err() != nil {
			flush()
			os.Exit(0)
		}
		if !*rejoin {
			flush()
			fail(1, "leader election lost")
		}
		if le, err = leaderelection.NewLeaderElector(lec); err != nil {
			fail(2, "invalid leader election config: %v", err)
		}
	}
}
