// Command certmanager runs cert-manager's controller and CA injector as plain processes against the e2e control
// plane, from the packages of the github.com/cert-manager/cert-manager module at the version kfkit's managed chart
// pins (go.mod). cert-manager's own commands are separate modules that replace the root module with a relative
// path, so they cannot be built from the module proxy: this is a thin main over its public packages.
//
//	certmanager controller --kubeconfig K [--cluster-resource-namespace cert-manager]
//	certmanager cainjector --kubeconfig K
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller"
	cainjector "github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	// The controllers kfkit's objects need register themselves on import: Certificates, their requests and the
	// approver, Issuers and ClusterIssuers with the self-signed, CA and ACME issuer types.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: certmanager controller|cainjector --kubeconfig FILE")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "controller":
		err = runController(ctx, os.Args[2:])
	case "cainjector":
		err = runCAInjector(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown program %q: controller or cainjector", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "certmanager %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func runController(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the controller's identity")
	clusterResourceNamespace := fs.String("cluster-resource-namespace", "cert-manager", "namespace of ClusterIssuers' Secrets")
	skip := fs.String("skip-controllers", "", "comma-separated controllers not to run (e.g. clusterissuers)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	skipped := map[string]bool{}
	for _, name := range strings.Split(*skip, ",") {
		if name != "" {
			skipped[name] = true
		}
	}
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:       *kubeconfig,
		KubernetesAPIQPS: 50, KubernetesAPIBurst: 100,
		IssuerOptions: controller.IssuerOptions{ClusterResourceNamespace: *clusterResourceNamespace},
	})
	if err != nil {
		return err
	}
	known := controller.Known()
	names := make([]string, 0, len(known))
	for name := range known {
		if !skipped[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for _, name := range names {
		c, err := known[name](factory)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		wg.Add(1)
		go func(name string, c controller.Interface) {
			defer wg.Done()
			if err := c.Run(5, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", name, err)
			}
		}(name, c)
	}
	built, err := factory.Build()
	if err != nil {
		return err
	}
	built.SharedInformerFactory.Start(ctx.Done())
	built.KubeSharedInformerFactory.Start(ctx.Done())
	built.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	fmt.Fprintf(os.Stderr, "certmanager controller: running %v\n", names)
	go func() { wg.Wait(); close(errs) }()
	if err, ok := <-errs; ok {
		return err
	}
	return nil
}

func runCAInjector(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cainjector", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the injector's identity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(scheme))
	utilruntime.Must(cmscheme.AddToScheme(scheme))
	utilruntime.Must(apiextv1.AddToScheme(scheme))
	utilruntime.Must(apiregv1.AddToScheme(scheme))
	ctrl.SetLogger(logf.Log)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// As upstream's injector: Secrets are read when needed, their data never cached.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return err
	}
	if err := cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			"mutatingwebhookconfiguration": true, "validatingwebhookconfiguration": true,
			"apiservice": true, "customresourcedefinition": true,
		},
	}); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "certmanager cainjector: running")
	return mgr.Start(ctx)
}
