// Package harness runs a real Kubernetes control plane for Jobs in one
// process: embedded etcd, the kube-apiserver of the Kubernetes integration
// tests, the real Job and CronJob controllers (and, as options, the
// garbage collector and the TTL-after-finished controller), and a pod
// driver that plays the kubelet.
//
// It is meant to be shared by every test that needs a real API server: the
// e2e scenarios, `make demo`, and later pipeline, RBAC, scale and outage tests.
//
//	c, err := harness.Start(ctx, harness.Options{})
//	defer c.Stop()
//	client := c.Client()          // kubernetes.Interface, cluster-admin
//	path := c.Kubeconfig()        // for kubectl and the exporter binary
//
// Only one Cluster can run per process at a time: the Job controller's
// backoff durations are package variables of k8s.io/kubernetes.
package harness

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
	jobcontroller "k8s.io/kubernetes/pkg/controller/job"
)

// Options configures Start. The zero value is usable.
type Options struct {
	// WorkDir holds etcd data, certificates, logs and the kubeconfig.
	// Empty: a new temporary directory, removed by Stop.
	// Given: used as is and kept after Stop.
	WorkDir string

	// Log receives the control plane's logs (etcd, kube-apiserver, Job
	// controller, pod driver). Nil: the file <WorkDir>/control-plane.log.
	Log io.Writer

	// JobBackoff and JobBackoffMax replace the Job controller's pod failure
	// backoff (DefaultJobPodFailureBackOff 10s, MaxJobPodFailureBackOff 10m).
	// Zero: 1s and 4s, so that failing Jobs finish in seconds.
	JobBackoff    time.Duration
	JobBackoffMax time.Duration

	// JobAPIBackoffMax caps the Job controller's retry of a sync that
	// failed, such as a pod the API server refused (MaxJobApiBackOff, 1m).
	// Zero: 4s, so that a Job recovers within seconds once its pods are
	// allowed.
	JobAPIBackoffMax time.Duration

	// JobWorkers is the Job controller's number of workers (default 5, as
	// kube-controller-manager's --concurrent-job-syncs).
	JobWorkers int

	// APIServerFlags are extra kube-apiserver flags, e.g.
	// "--authorization-mode=RBAC". They come after the harness defaults
	// (--endpoint-reconciler-type=none, --disable-admission-plugins=ServiceAccount).
	APIServerFlags []string

	// NoPodDriver leaves pods as the Job controller creates them (Pending
	// forever, as with no kubelet). Tests that write pod status themselves
	// set it.
	NoPodDriver bool

	// PodDriver tunes the pod driver's timings.
	PodDriver DriverOptions

	// NoCronJobController leaves CronJobs alone. By default the real
	// CronJob controller runs (see cronjobcontroller.go); tests that own a CronJob's
	// runs use a suspended CronJob (SuspendedCronJob, RunOf).
	NoCronJobController bool

	// GarbageCollector runs the real garbage collector (see gc.go): owner
	// references are honoured, e.g. a CronJob deleted with background
	// propagation takes its Jobs along. Off by default; without it the pod
	// driver only deletes the pods of deleted Jobs (PodDriver.NoOrphanGC).
	GarbageCollector bool

	// TTLAfterFinished runs the real TTL-after-finished controller (see
	// ttlcontroller.go): a finished Job with spec.ttlSecondsAfterFinished
	// is deleted once that has passed (at once for 0), as in every
	// cluster. It deletes with foreground propagation, which only the
	// garbage collector completes (the pods first, then the Job), so it
	// requires GarbageCollector. Off by default.
	TTLAfterFinished bool

	// Progress, if set, gets one short line per startup step (for make demo).
	Progress func(format string, args ...any)
}

// Cluster is a running control plane. Its methods are safe for concurrent use.
type Cluster struct {
	opts        Options
	workDir     string
	removeDir   bool
	logFile     *os.File
	log         io.Writer
	kubeconfig  string
	restConfig  *rest.Config
	client      kubernetes.Interface
	etcd        *embed.Etcd
	etcdURL     string
	tb          *processTB
	apiTearDown func()
	proxy       *tcpProxy
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	driver      *PodDriver
	stopOnce    sync.Once
	stopErr     error
}

// The Job controller's backoff is a package variable; Start sets it, so only
// one Cluster may run at a time.
var running sync.Mutex

// Start brings up etcd, kube-apiserver, the Job controller, the CronJob
// controller (unless NoCronJobController), the garbage collector (with
// GarbageCollector), the TTL-after-finished controller (with
// TTLAfterFinished) and (unless NoPodDriver) the pod driver, and returns once
// the API server is healthy and the controllers' caches are synced. ctx
// bounds the startup only; the cluster runs until Stop.
func Start(ctx context.Context, opts Options) (_ *Cluster, retErr error) {
	if opts.TTLAfterFinished && !opts.GarbageCollector {
		// Its foreground deletions would never finish: the Job would stay,
		// with a deletionTimestamp, and its pods too.
		return nil, errors.New("harness: Options.TTLAfterFinished requires Options.GarbageCollector (the TTL controller deletes with foreground propagation)")
	}
	if !running.TryLock() {
		return nil, errors.New("harness: a Cluster is already running in this process")
	}
	if opts.JobBackoff <= 0 {
		opts.JobBackoff = time.Second
	}
	if opts.JobBackoffMax <= 0 {
		opts.JobBackoffMax = 4 * time.Second
	}
	if opts.JobAPIBackoffMax <= 0 {
		opts.JobAPIBackoffMax = 4 * time.Second
	}
	if opts.JobWorkers <= 0 {
		opts.JobWorkers = 5
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}

	c := &Cluster{opts: opts, workDir: opts.WorkDir}
	defer func() {
		if retErr != nil {
			c.Stop()
		}
	}()
	if c.workDir == "" {
		dir, err := os.MkdirTemp("", "kube-job-exporter-e2e-")
		if err != nil {
			return nil, err
		}
		c.workDir, c.removeDir = dir, true
	} else if err := os.MkdirAll(c.workDir, 0o755); err != nil {
		return nil, err
	}
	c.log = opts.Log
	if c.log == nil {
		f, err := os.Create(filepath.Join(c.workDir, "control-plane.log"))
		if err != nil {
			return nil, err
		}
		c.logFile, c.log = f, f
	}
	c.log = &syncWriter{w: c.log}
	redirectKlog(c.log)

	progress("starting etcd (embedded)")
	if err := c.startEtcd(ctx); err != nil {
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	progress("starting kube-apiserver")
	if err := c.startAPIServer(); err != nil {
		return nil, fmt.Errorf("start kube-apiserver: %w", err)
	}
	u, err := url.Parse(c.restConfig.Host)
	if err != nil {
		return nil, err
	}
	if c.proxy, err = newTCPProxy(u.Host); err != nil {
		return nil, err
	}
	if err := c.writeKubeconfig(); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	runCtx = klog.NewContext(runCtx, klog.Background())
	c.cancel = cancel

	progress("starting the Job controller (backoff %s, max %s)", opts.JobBackoff, opts.JobBackoffMax)
	if err := c.startJobController(ctx, runCtx); err != nil {
		return nil, fmt.Errorf("start job controller: %w", err)
	}
	if !opts.NoCronJobController {
		progress("starting the CronJob controller")
		if err := c.startCronJobController(ctx, runCtx); err != nil {
			return nil, fmt.Errorf("start cronjob controller: %w", err)
		}
	}
	if opts.GarbageCollector {
		progress("starting the garbage collector")
		if err := c.startGarbageCollector(ctx, runCtx); err != nil {
			return nil, fmt.Errorf("start garbage collector: %w", err)
		}
	}
	if opts.TTLAfterFinished {
		progress("starting the TTL-after-finished controller")
		if err := c.startTTLAfterFinishedController(ctx, runCtx); err != nil {
			return nil, fmt.Errorf("start ttl-after-finished controller: %w", err)
		}
	}
	if !opts.NoPodDriver {
		progress("starting the pod driver (kubelet stand-in)")
		d, err := NewPodDriver(c.clientFor("e2e-pod-driver"), opts.PodDriver, c.log)
		if err != nil {
			return nil, err
		}
		if err := d.Start(runCtx); err != nil {
			return nil, fmt.Errorf("start pod driver: %w", err)
		}
		c.driver = d
	}
	return c, nil
}

// startEtcd retries with new ports when one was taken between freePort and
// etcd's bind (other processes on the machine pick ports too).
func (c *Cluster) startEtcd(ctx context.Context) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = c.startEtcdOnce(ctx); err == nil || !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		os.RemoveAll(filepath.Join(c.workDir, "etcd"))
	}
	return err
}

func (c *Cluster) startEtcdOnce(ctx context.Context) error {
	clientPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	cfg := embed.NewConfig()
	cfg.Name = "e2e"
	cfg.Dir = filepath.Join(c.workDir, "etcd")
	cfg.UnsafeNoFsync = true // a throwaway cluster: speed over durability
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(c.workDir, "etcd.log")}
	cfg.QuotaBackendBytes = 8 << 30 // room for scale tests
	cu := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	pu := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return err
	case <-ctx.Done():
		e.Close()
		return ctx.Err()
	case <-time.After(time.Minute):
		e.Close()
		return errors.New("etcd not ready after 1m")
	}
	c.etcd = e
	c.etcdURL = cu.String()
	return nil
}

func (c *Cluster) startAPIServer() (retErr error) {
	c.tb = newProcessTB("kube-job-exporter-e2e", c.workDir, c.log)
	storage := storagebackend.NewDefaultConfig("/registry", nil)
	storage.Transport.ServerList = []string{c.etcdURL}
	flags := append([]string{
		"--endpoint-reconciler-type=none",
		// No ServiceAccount controller runs, so pods could not get tokens.
		"--disable-admission-plugins=ServiceAccount",
	}, c.opts.APIServerFlags...)
	// The upstream harness reports fatal errors through tb.Fatalf, which
	// processTB turns into a panic of errFatal.
	defer func() {
		if r := recover(); r != nil {
			if r != errFatal {
				panic(r)
			}
			retErr = fmt.Errorf("%v", c.tb.errorsReported())
		}
	}()
	server, err := kubeapiservertesting.StartTestServer(c.tb, testServerOptions(), flags, storage)
	if err != nil {
		return err
	}
	c.apiTearDown = server.TearDownFn
	c.restConfig = rest.CopyConfig(server.ClientConfig)
	c.restConfig.Timeout = 0
	c.client = c.clientFor("e2e")
	return nil
}

func (c *Cluster) startJobController(startCtx, runCtx context.Context) error {
	jobcontroller.DefaultJobPodFailureBackOff = c.opts.JobBackoff
	jobcontroller.MaxJobPodFailureBackOff = c.opts.JobBackoffMax
	jobcontroller.MaxJobApiBackOff = c.opts.JobAPIBackoffMax
	factory := informers.NewSharedInformerFactory(c.clientFor("job-informers"), 0)
	jc, err := newJobController(runCtx, c.clientFor("job-controller"), factory)
	if err != nil {
		return err
	}
	return c.runController(startCtx, runCtx, factory, func(ctx context.Context) { jc.Run(ctx, c.opts.JobWorkers) })
}

// runController starts a controller's informers and the controller (run)
// until runCtx ends, waits up to a minute of startCtx for the informers'
// caches, and shuts the informers down when runCtx ends.
func (c *Cluster) runController(startCtx, runCtx context.Context, factory informers.SharedInformerFactory, run func(context.Context)) error {
	factory.Start(runCtx.Done())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		run(runCtx)
	}()
	syncCtx, cancel := context.WithTimeout(startCtx, time.Minute)
	defer cancel()
	for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			return fmt.Errorf("informer cache for %v did not sync", typ)
		}
	}
	c.wg.Add(1)
	go func() { defer c.wg.Done(); <-runCtx.Done(); factory.Shutdown() }()
	return nil
}

func (c *Cluster) writeKubeconfig() error {
	rc := c.restConfig
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{
		Server:                   "https://" + c.proxy.addr,
		CertificateAuthorityData: rc.TLSClientConfig.CAData,
		TLSServerName:            rc.TLSClientConfig.ServerName,
	}
	cfg.AuthInfos["e2e-admin"] = &clientcmdapi.AuthInfo{Token: rc.BearerToken}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e-admin", Namespace: "default"}
	cfg.CurrentContext = "e2e"
	c.kubeconfig = filepath.Join(c.workDir, "kubeconfig")
	return clientcmd.WriteToFile(*cfg, c.kubeconfig)
}

func (c *Cluster) clientFor(userAgent string) kubernetes.Interface {
	return kubernetes.NewForConfigOrDie(rest.AddUserAgent(rest.CopyConfig(c.restConfig), userAgent))
}

// Kubeconfig is the path of a kubeconfig with cluster-admin rights (the API
// server's loopback token), usable by kubectl and the exporter. It reaches
// the API server through a proxy that SetAPIServerReachable controls.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// ImpersonatingKubeconfig writes to dir a copy of Kubeconfig whose requests
// are all authorized as user (kubeconfig `as:`), e.g. a ServiceAccount's
// "system:serviceaccount:ns:name": RBAC tests without minting tokens.
func (c *Cluster) ImpersonatingKubeconfig(dir, user string) (string, error) {
	cfg, err := clientcmd.LoadFromFile(c.kubeconfig)
	if err != nil {
		return "", err
	}
	for _, ai := range cfg.AuthInfos {
		ai.Impersonate = user
	}
	path := filepath.Join(dir, "kubeconfig-as")
	return path, clientcmd.WriteToFile(*cfg, path)
}

// SetAPIServerOutage simulates an API-server outage for the clients of
// Kubeconfig() (the exporter, kubectl): open connections are dropped, and
// new ones refused (OutageRefused) or accepted and dropped (OutageReset).
// The in-process Job controller and pod driver keep working, so Jobs move
// on meanwhile. OutageNone ends the outage (same address).
func (c *Cluster) SetAPIServerOutage(o Outage) error { return c.proxy.setOutage(o) }

// SetAPIServerReachable(false) is SetAPIServerOutage(OutageRefused), as when
// kube-apiserver is down; true ends the outage.
func (c *Cluster) SetAPIServerReachable(ok bool) error {
	if ok {
		return c.SetAPIServerOutage(OutageNone)
	}
	return c.SetAPIServerOutage(OutageRefused)
}

// RESTConfig returns a copy of the cluster-admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Client is a cluster-admin clientset.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Driver is the pod driver, or nil with Options.NoPodDriver.
func (c *Cluster) Driver() *PodDriver { return c.driver }

// WorkDir holds etcd data, certificates, logs and the kubeconfig.
func (c *Cluster) WorkDir() string { return c.workDir }

// JobBackoff returns the Job controller's pod failure backoff and its cap,
// the values for the exporter's --job.backoff-initial and --job.backoff-max.
func (c *Cluster) JobBackoff() (initial, maxDelay time.Duration) {
	return c.opts.JobBackoff, c.opts.JobBackoffMax
}

// EtcdURL is the embedded etcd's client URL.
func (c *Cluster) EtcdURL() string { return c.etcdURL }

// Stop stops the pod driver, the controllers, kube-apiserver and etcd, and
// removes the work directory if Start created it. It is idempotent.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
		}
		c.wg.Wait()
		if c.driver != nil {
			c.driver.Wait()
		}
		if c.proxy != nil {
			c.proxy.close()
		}
		if c.apiTearDown != nil {
			c.apiTearDown()
		}
		if c.tb != nil {
			c.tb.runCleanups()
		}
		if c.etcd != nil {
			c.etcd.Close()
		}
		if c.logFile != nil {
			c.logFile.Close()
		}
		if c.removeDir {
			c.stopErr = os.RemoveAll(c.workDir)
		}
		running.Unlock()
	})
	return c.stopErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// redirectKlog sends klog's global output (used by kube-apiserver and the
// controllers) to w instead of stderr.
func redirectKlog(w io.Writer) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(w)
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
