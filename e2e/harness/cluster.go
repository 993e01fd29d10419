package main

import (
	"context"

	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Address ranges the control plane hands out. Nothing dials them: the API server reaches Services through the
// egress proxy (egress.sock), and pod addresses are only labels KWOK writes.
const (
	serviceCIDR = "10.96.0.0/16"
	podCIDR     = "10.244.0.0/16"
)

// cluster is a running control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK.
type cluster struct {
	state      string
	bin        string
	pki        *pki
	procs      *procs
	server     string
	kubeconfig string // the admin's (system:masters)
	config     *rest.Config
	client     kubernetes.Interface
}

func (c *cluster) file(name string) string { return filepath.Join(c.state, name) }

func startCluster(ctx context.Context, state, bin string) (*cluster, error) {
	c := &cluster{state: state, bin: bin}
	var err error
	if c.pki, err = newPKI(c.file("pki")); err != nil {
		return nil, err
	}
	if c.procs, err = newProcs(c.file("logs")); err != nil {
		return nil, err
	}
	kcp := filepath.Join(bin, "kcp")
	etcdPort, err := freePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	if err := c.procs.start("etcd", nil, kcp, "etcd", "--data-dir", c.file("etcd"),
		"--listen-client-url", etcdURL, "--listen-peer-url", "http://127.0.0.1:"+strconv.Itoa(peerPort)); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "etcd", 60*time.Second, func() error {
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	c.server = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	p := c.pki
	if err := p.issue("apiserver", "kube-apiserver", nil,
		[]string{"127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.96.0.1"}); err != nil {
		return nil, err
	}
	users := []struct{ name, cn, org string }{
		{"admin", "kfkit-e2e-admin", "system:masters"},
		{"controller-manager", "system:kube-controller-manager", ""},
		{"scheduler", "system:kube-scheduler", ""},
		// KWOK plays every node's kubelet; it writes Node and Pod status for all of them.
		{"kwok", "kwok", "system:masters"},
	}
	for _, u := range users {
		var orgs []string
		if u.org != "" {
			orgs = []string{u.org}
		}
		if err := p.issue(u.name, u.cn, orgs, nil); err != nil {
			return nil, err
		}
		if err := p.kubeconfig(c.file(u.name+".kubeconfig"), u.name, c.server); err != nil {
			return nil, err
		}
	}
	c.kubeconfig = c.file("admin.kubeconfig")
	egress := c.file("egress-selector.yaml")
	if err := os.WriteFile(egress, []byte(fmt.Sprintf(`apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %s
- name: controlplane
  connection: {proxyProtocol: Direct}
- name: etcd
  connection: {proxyProtocol: Direct}
`, c.file("egress.sock"))), 0o600); err != nil {
		return nil, err
	}
	if err := c.procs.start("kube-apiserver", nil, kcp, "kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		// Loopback cannot be advertised in the kubernetes Endpoints; nothing here needs them (pods' processes are
		// pointed at the API server's loopback address by the harness).
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--tls-cert-file="+p.path("apiserver.crt"), "--tls-private-key-file="+p.path("apiserver.key"),
		"--client-ca-file="+p.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.path("sa.pub"), "--service-account-signing-key-file="+p.path("sa.key"),
		"--service-cluster-ip-range="+serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		"--egress-selector-config-file="+egress,
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	); err != nil {
		return nil, err
	}
	if c.config, err = clientcmd.BuildConfigFromFlags("", c.kubeconfig); err != nil {
		return nil, err
	}
	c.config.QPS, c.config.Burst = 200, 400
	if c.client, err = kubernetes.NewForConfig(c.config); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "kube-apiserver", 120*time.Second, func() error {
		_, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}); err != nil {
		return nil, err
	}

	if err := c.procs.start("kube-controller-manager", nil, kcp, "kube-controller-manager",
		"--kubeconfig="+c.file("controller-manager.kubeconfig"),
		"--authentication-kubeconfig="+c.file("controller-manager.kubeconfig"),
		"--authorization-kubeconfig="+c.file("controller-manager.kubeconfig"),
		"--secure-port=0", "--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+p.path("sa.key"),
		"--root-ca-file="+p.path("ca.crt"),
		"--cluster-signing-cert-file="+p.path("ca.crt"), "--cluster-signing-key-file="+p.path("ca.key"),
		// KWOK renews the nodes' leases, so node-lifecycle sees them alive and lifts the not-ready taint. Pod
		// addresses come from KWOK, not from node CIDRs.
		"--controllers=*,-node-ipam-controller",
		"--kube-api-qps=200", "--kube-api-burst=400",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
	); err != nil {
		return nil, err
	}
	schedPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := c.procs.start("kube-scheduler", nil, kcp, "kube-scheduler",
		"--kubeconfig="+c.file("scheduler.kubeconfig"),
		"--authentication-kubeconfig="+c.file("scheduler.kubeconfig"),
		"--authorization-kubeconfig="+c.file("scheduler.kubeconfig"),
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(schedPort),
		"--leader-elect=false",
	); err != nil {
		return nil, err
	}
	stages := c.file("kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages), 0o644); err != nil {
		return nil, err
	}
	kwokPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := c.procs.start("kwok", nil, filepath.Join(bin, "kwok"),
		"--kubeconfig="+c.file("kwok.kubeconfig"),
		"--manage-nodes-with-annotation-selector="+annFakeNode+"=fake",
		"--cidr="+podCIDR, "--node-ip=127.0.0.1", "--node-lease-duration-seconds=40",
		"--server-address=127.0.0.1:"+strconv.Itoa(kwokPort),
		"--config="+stages,
	); err != nil {
		return nil, err
	}
	// kube-controller-manager is up once it has made the default namespace's ServiceAccount.
	if err := waitFor(ctx, "kube-controller-manager", 120*time.Second, func() error {
		_, err := c.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// caPool is the control plane's CA, for clients of its servers.
func (c *cluster) caPool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(c.pki.path("ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool, nil
}
