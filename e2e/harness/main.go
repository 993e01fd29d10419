// Command harness is the kfkit e2e's local Kubernetes: it starts a control plane built from the Kubernetes Go
// modules (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), KWOK for nodes and pod phases, and the
// harness's own controllers — a kubelet-lite gate on pod start, a Job runner, a stand-in volume provisioner, the API
// server's egress proxy to Services with stand-in webhook servers, and the chart stand-ins of e2e/stand-ins.json.
//
//	harness up --state DIR --bin DIR --registry FILE --crds DIR [--nodes N]
//
// writes DIR/ready.json (kubeconfig, server) when everything is up and runs until SIGINT/SIGTERM, then ends every
// process it started. Run it in a network namespace that has only loopback.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: harness up --state DIR --bin DIR --registry FILE --crds DIR [--nodes N] | crds --kubeconfig K --crds DIR SPEC…")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "crds":
		err = crds(os.Args[2:])
	case "podexec":
		if len(os.Args) != 3 {
			err = fmt.Errorf("usage: harness podexec PLAN")
			break
		}
		err = podexec(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	state := fs.String("state", "", "state directory (created; keep its path short: the egress socket lives there)")
	bin := fs.String("bin", "", "directory of kcp, kwok and certmanager")
	registryFile := fs.String("registry", "", "stand-in registry (e2e/stand-ins.json)")
	crds := fs.String("crds", "", "directory of generated CRDs, one folder per family")
	nodes := fs.Int("nodes", 3, "fake nodes to create")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *state == "" || *bin == "" || *registryFile == "" || *crds == "" {
		return fmt.Errorf("--state, --bin, --registry and --crds are required")
	}
	reg, err := loadRegistry(*registryFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*state, 0o755); err != nil {
		return err
	}
	// End with whoever started us, however it ends (a runner killed on its deadline cannot ask us to stop).
	parent := os.Getppid()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %v", errno)
	}
	if os.Getppid() != parent {
		return fmt.Errorf("the process that started the harness has ended")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	cl, err := startCluster(ctx, *state, *bin)
	if cl != nil && cl.procs != nil {
		defer cl.procs.stopAll(5 * time.Second)
	}
	if err != nil {
		return err
	}
	log, err := openEventLog(cl.file("events.jsonl"))
	if err != nil {
		return err
	}
	if err := storageClass(ctx, cl, "standard", true); err != nil {
		return err
	}
	for i := 0; i < *nodes; i++ {
		if err := createNode(ctx, cl, fmt.Sprintf("kwok-node-%d", i)); err != nil {
			return err
		}
	}
	startProvisioner(ctx, cl)
	startKubeletLite(ctx, cl.client, log)
	if err := startJobRunner(ctx, cl, reg, log); err != nil {
		return err
	}
	startDeploymentStandIns(ctx, cl, reg, log)
	if err := startEgressProxy(ctx, cl, log, cl.file("egress.sock")); err != nil {
		return err
	}
	if err := startChartStandIns(ctx, cl, reg, log, *crds, *bin); err != nil {
		return err
	}
	ready, _ := json.MarshalIndent(map[string]any{
		"kubeconfig": cl.kubeconfig, "server": cl.server, "pid": os.Getpid(), "state": *state,
		"seconds": time.Since(started).Seconds(),
	}, "", "  ")
	// Written whole then renamed: the e2e polls for the file and reads it as soon as it exists.
	tmp := filepath.Join(*state, ".ready.json.tmp")
	if err := os.WriteFile(tmp, ready, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(*state, "ready.json")); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "harness: control plane ready in %.1fs; kubeconfig %s\n", time.Since(started).Seconds(), cl.kubeconfig)
	select {
	case <-ctx.Done():
		return nil
	case name := <-cl.procs.exited:
		return fmt.Errorf("%s exited; stopping (logs in %s)", name, cl.file("logs"))
	}
}

// crds installs CRDs (generated:<family> or permissive:<group>/<version>/<Kind>/<plural>[/Cluster]) and waits until
// they are Established: what the cluster's admins' tools (Flux, Argo CD) would have installed.
func crds(args []string) error {
	fs := flag.NewFlagSet("crds", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	dir := fs.String("crds", "", "directory of generated CRDs")
	manager := fs.String("field-manager", "cluster-admins", "field manager (after kfkit-e2e-)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, spec := range fs.Args() {
		if err := installCRDs(context.Background(), dyn, *dir, spec, *manager); err != nil {
			return err
		}
	}
	return nil
}

// createNode registers a KWOK node: a generic worker with room for a platform's pods.
func createNode(ctx context.Context, cl *cluster, name string) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods: resource.MustParse("250"), corev1.ResourceEphemeralStorage: resource.MustParse("500Gi"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{annFakeNode: "fake"},
			Labels:      map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	_, err := cl.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
