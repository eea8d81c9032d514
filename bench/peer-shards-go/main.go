// Command peer-shards-go is the client-go side of tenure's sharding benchmark (bench/shards.ts):
// one process running one client-go LeaderElector (k8s.io/client-go v0.37.2, LeaseLock) per Lease
// of a bucket set, all on one clientset, as knative's leaderelection package runs one elector per
// bucket. A term lost is campaigned for again with a fresh elector.
//
// It prints one JSON object per line on stdout:
//
//	{"event":"ready","identity":"a","heap_bytes":123}   (the heap before any elector starts)
//	{"event":"started","lease":"bench.shards.007-of-1000"}
//	{"event":"stopped","lease":"bench.shards.007-of-1000"}
//	{"event":"stats","requests":{"held":1,"followed":2,"other":0},"methods":{"GET":2,"PUT":1},"heap_bytes":123}
//
// Requests are counted at the transport (every HTTP request the clientset sends), each classed as
// for a lease this process leads at that moment ("held"), for another lease of the set
// ("followed"), or neither. Stats on SIGUSR2, the heap measured after a GC.
// SIGTERM/SIGINT end every elector and the process.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

var outMu sync.Mutex

func emit(v map[string]any) {
	line, _ := json.Marshal(v)
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(line, '\n'))
}

// held is the set of leases this process leads now.
var held sync.Map

type counts struct {
	held, followed, other atomic.Int64
	mu                    sync.Mutex
	methods               map[string]int64
}

var sent = counts{methods: map[string]int64{}}

// counting classes every request by the lease it is for.
type counting struct {
	rt        http.RoundTripper
	prefix    string // the collection path
	tokenPath string
}

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	lease := ""
	if strings.HasPrefix(req.URL.Path, c.prefix+"/") {
		lease = strings.TrimPrefix(req.URL.Path, c.prefix+"/")
	} else if req.Method == http.MethodPost && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			var lease0 struct {
				Metadata struct{ Name string } `json:"metadata"`
			}
			raw, _ := io.ReadAll(body)
			if json.NewDecoder(bytes.NewReader(raw)).Decode(&lease0) == nil {
				lease = lease0.Metadata.Name
			}
		}
	}
	switch {
	case lease == "":
		sent.other.Add(1)
	case isHeld(lease):
		sent.held.Add(1)
	default:
		sent.followed.Add(1)
	}
	sent.mu.Lock()
	sent.methods[req.Method]++
	sent.mu.Unlock()
	if c.tokenPath != "" {
		token, err := os.ReadFile(c.tokenPath)
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	return c.rt.RoundTrip(req)
}

func isHeld(lease string) bool {
	_, ok := held.Load(lease)
	return ok
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peer-shards-go: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	var (
		server        = flag.String("server", "", "API server URL")
		caFile        = flag.String("ca-file", "", "CA of the API server")
		tokenFile     = flag.String("token-file", "", "bearer token file, re-read for every request")
		namespace     = flag.String("namespace", "default", "namespace of the Leases")
		component     = flag.String("component", "bench", "bucket names: {component}.{queue}.NN-of-MM")
		queue         = flag.String("queue", "shards", "bucket names: {component}.{queue}.NN-of-MM")
		leases        = flag.Int("leases", 1000, "number of buckets (Leases), one elector each")
		identity      = flag.String("identity", "", "holder identity")
		leaseDuration = flag.Duration("lease-duration", 15*time.Second, "")
		renewDeadline = flag.Duration("renew-deadline", 10*time.Second, "")
		retryPeriod   = flag.Duration("retry-period", 2*time.Second, "")
		qps           = flag.Float64("qps", 2000, "client-side rate limit (client-go's default of 5 cannot renew 1,000 leases)")
	)
	klog.InitFlags(nil)
	flag.Parse()
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	if *server == "" || *identity == "" {
		fail("--server and --identity are required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	cfg := &rest.Config{Host: *server}
	cfg.TLSClientConfig.CAFile = *caFile
	cfg.QPS, cfg.Burst = float32(*qps), int(*qps)
	cfg.Timeout = *renewDeadline / 2
	collection := fmt.Sprintf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", *namespace)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &counting{rt: rt, prefix: collection, tokenPath: *tokenFile}
	})
	cfg = rest.AddUserAgent(cfg, "leader-election")
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fail("creating client: %v", err)
	}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	emit(map[string]any{"event": "ready", "identity": *identity, "heap_bytes": base.HeapAlloc})

	total := fmt.Sprintf("%02d", *leases)
	var wg sync.WaitGroup
	for i := 0; i < *leases; i++ {
		name := strings.ToLower(fmt.Sprintf("%s.%s.%02d-of-%s", *component, *queue, i, total))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				lock := &resourcelock.LeaseLock{
					LeaseMeta:  metav1.ObjectMeta{Namespace: *namespace, Name: name},
					Client:     cs.CoordinationV1(),
					LockConfig: resourcelock.ResourceLockConfig{Identity: *identity},
				}
				le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
					Lock:          lock,
					LeaseDuration: *leaseDuration,
					RenewDeadline: *renewDeadline,
					RetryPeriod:   *retryPeriod,
					Callbacks: leaderelection.LeaderCallbacks{
						OnStartedLeading: func(context.Context) {
							held.Store(name, true)
							emit(map[string]any{"event": "started", "lease": name})
						},
						OnStoppedLeading: func() {
							if _, was := held.LoadAndDelete(name); was {
								emit(map[string]any{"event": "stopped", "lease": name})
							}
						},
					},
					Name: name,
				})
				if err != nil {
					fail("elector for %s: %v", name, err)
				}
				le.Run(ctx)
			}
		}()
	}
	asked := make(chan os.Signal, 1)
	signal.Notify(asked, syscall.SIGUSR2)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-asked:
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			sent.mu.Lock()
			methods := map[string]int64{}
			for k, v := range sent.methods {
				methods[k] = v
			}
			sent.mu.Unlock()
			emit(map[string]any{
				"event":      "stats",
				"requests":   map[string]int64{"held": sent.held.Load(), "followed": sent.followed.Load(), "other": sent.other.Load()},
				"methods":    methods,
				"heap_bytes": m.HeapAlloc,
			})
		}
	}
}
