// Command testcluster runs one component of the kubectl-dev test control
// plane per process:
//
//	testcluster etcd --name=NAME --data-dir=DIR --listen-client-url=URL --listen-peer-url=URL
//	testcluster kube-apiserver          <flags of kube-apiserver>
//	testcluster kube-controller-manager <flags of kube-controller-manager>
//	testcluster kube-scheduler          <flags of kube-scheduler>
//	testcluster version
//	testcluster exec PROGRAM ARGS...   (exec with TESTCLUSTER_PDEATHSIG honoured)
//
// The Kubernetes components are the real ones (k8s.io/kubernetes/cmd/...);
// etcd is go.etcd.io/etcd/server/v3/embed. The orchestration lives in
// cluster.ts next to this file.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // CronJob time zones

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/embed"
	"golang.org/x/sys/unix"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/component-base/version"

	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

const usage = "usage: testcluster etcd|kube-apiserver|kube-controller-manager|kube-scheduler|version [flags]"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	// When started by a test run, die with the parent: no orphaned
	// components even if the runner is killed with SIGKILL.
	if os.Getenv("TESTCLUSTER_PDEATHSIG") == "1" {
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0)
		if os.Getppid() == 1 {
			os.Exit(1)
		}
	}
	name, args := os.Args[1], os.Args[2:]
	var cmd *cobra.Command
	switch name {
	case "etcd":
		os.Exit(runEtcd(args))
	case "version":
		fmt.Println(version.Get().GitVersion)
		return
	case "exec":
		// exec PROGRAM ARGS...: replace this process by PROGRAM, keeping the
		// parent-death signal set above (used to start kwok).
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "usage: testcluster exec PROGRAM [ARGS...]")
			os.Exit(2)
		}
		err := syscall.Exec(args[0], args, os.Environ())
		fmt.Fprintln(os.Stderr, "exec", args[0]+":", err)
		os.Exit(127)
	case "kube-apiserver":
		cmd = apiserver.NewAPIServerCommand()
	case "kube-controller-manager":
		cmd = controllermanager.NewControllerManagerCommand()
	case "kube-scheduler":
		cmd = scheduler.NewSchedulerCommand()
	default:
		fmt.Fprintf(os.Stderr, "unknown component %q\n%s\n", name, usage)
		os.Exit(2)
	}
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}

func runEtcd(args []string) int {
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	name := fs.String("name", "testcluster", "member name")
	dataDir := fs.String("data-dir", "", "data directory (required)")
	clientURL := fs.String("listen-client-url", "http://127.0.0.1:2379", "client URL (listen and advertise)")
	peerURL := fs.String("listen-peer-url", "http://127.0.0.1:2380", "peer URL (listen and advertise)")
	noFsync := fs.Bool("unsafe-no-fsync", true, "disable fsync (test data only)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "etcd: --data-dir is required")
		return 2
	}
	cu, err := url.Parse(*clientURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd: --listen-client-url:", err)
		return 2
	}
	pu, err := url.Parse(*peerURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd: --listen-peer-url:", err)
		return 2
	}

	cfg := embed.NewConfig()
	cfg.Name = *name
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = *noFsync
	cfg.LogLevel = *logLevel
	cfg.LogOutputs = []string{"stderr"}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd: start:", err)
		return 1
	}
	defer e.Close()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-e.Server.ReadyNotify():
		fmt.Fprintln(os.Stderr, "etcd: ready, serving", cu.String())
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcd: error:", err)
		return 1
	case <-time.After(60 * time.Second):
		fmt.Fprintln(os.Stderr, "etcd: not ready after 60s")
		return 1
	case s := <-sig:
		fmt.Fprintln(os.Stderr, "etcd: stopping on", s)
		return 0
	}
	select {
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcd: error:", err)
		return 1
	case s := <-sig:
		fmt.Fprintln(os.Stderr, "etcd: stopping on", s)
		return 0
	}
}
