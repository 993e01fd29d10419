package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authv1 "k8s.io/api/authentication/v1"
	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// deploymentStandIns do, for a long-running pod whose work is a one-time setup against the API server, what its
// process would do, with its ServiceAccount's token (so the pod's RBAC is exercised). Only the registry's
// Deployment entries run; the others' pods just run (KWOK).
type deploymentStandIns struct {
	cl   *cluster
	reg  *registry
	log  *eventLog
	mu   sync.Mutex
	done map[types.UID]bool
}

func startDeploymentStandIns(ctx context.Context, cl *cluster, reg *registry, log *eventLog) {
	d := &deploymentStandIns{cl: cl, reg: reg, log: log, done: map[types.UID]bool{}}
	f := informers.NewSharedInformerFactory(cl.client, 0)
	handle := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
			return
		}
		rs := ownerOf(pod, "ReplicaSet")
		if rs == "" || strings.LastIndex(rs, "-") < 0 {
			return
		}
		s := reg.forDeployment(rs[:strings.LastIndex(rs, "-")])
		if s == nil {
			return
		}
		d.mu.Lock()
		seen := d.done[pod.UID]
		d.done[pod.UID] = true
		d.mu.Unlock()
		if !seen {
			go d.run(ctx, pod.DeepCopy(), s)
		}
	}
	_, _ = f.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) }})
	f.Start(ctx.Done())
}

// asPod is a client acting as the pod's ServiceAccount, with a token bound to the pod.
func (d *deploymentStandIns) asPod(ctx context.Context, pod *corev1.Pod) (kubernetes.Interface, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tok, err := d.cl.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		BoundObjectRef: &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(d.cl.config)
	cfg.BearerToken = tok.Status.Token
	return kubernetes.NewForConfig(cfg)
}

func (d *deploymentStandIns) run(ctx context.Context, pod *corev1.Pod, s *standIn) {
	client, err := d.asPod(ctx, pod)
	if err == nil {
		switch s.Action.Type {
		case "cache-deployer":
			err = cacheDeployer(ctx, client, pod)
		default:
			err = fmt.Errorf("unknown action %q", s.Action.Type)
		}
	}
	if err != nil {
		d.log.add(event{Kind: "stand-in-failed", StandIn: s.ID, Namespace: pod.Namespace, Name: pod.Name, Detail: err.Error()})
		return
	}
	d.log.add(event{Kind: "stand-in", StandIn: s.ID, Namespace: pod.Namespace, Name: pod.Name, Detail: s.How})
}

// cacheDeployer does what Kubeflow Pipelines 2.17.0's cache deployer (deploy-cache-service.sh with
// webhook-create-signed-cert.sh) does, in the same API calls: a kubelet-serving CertificateSigningRequest for
// cache-server, approved by the deployer itself, the signed certificate and its key in Secret webhook-server-tls
// (cert.pem, key.pem), and the MutatingWebhookConfiguration cache-webhook-<namespace> trusting that certificate.
func cacheDeployer(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod) error {
	ns := pod.Namespace
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == "NAMESPACE_TO_WATCH" && e.Value != "" {
			ns = e.Value
		}
	}
	webhookName, secretName, service := "cache-webhook-"+ns, "webhook-server-tls", "cache-server"
	_, errHook := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, webhookName, metav1.GetOptions{})
	_, errSecret := c.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
	for _, e := range []error{errHook, errSecret} {
		if e != nil && !apierrors.IsNotFound(e) {
			return e
		}
	}
	if errHook == nil && errSecret == nil {
		return nil
	}
	if errHook == nil {
		if err := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, webhookName, metav1.DeleteOptions{}); err != nil {
			return err
		}
	}
	if errSecret == nil {
		if err := c.CoreV1().Secrets(ns).Delete(ctx, secretName, metav1.DeleteOptions{}); err != nil {
			return err
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	fqdn := service + "." + ns + ".svc"
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "system:node:" + fqdn + ";", Organization: []string{"system:nodes"}},
		DNSNames: []string{service, service + "." + ns, fqdn},
	}, key)
	if err != nil {
		return err
	}
	csrName := service + "." + ns
	_ = c.CertificatesV1().CertificateSigningRequests().Delete(ctx, csrName, metav1.DeleteOptions{})
	csr, err := c.CertificatesV1().CertificateSigningRequests().Create(ctx, &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: csrName},
		Spec: certv1.CertificateSigningRequestSpec{
			Groups:     []string{"system:authenticated"},
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certv1.KubeletServingSignerName,
			Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageKeyEncipherment, certv1.UsageServerAuth},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create CSR: %w", err)
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certv1.CertificateSigningRequestCondition{
		Type: certv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "KubectlApprove", Message: "This CSR was approved by kubectl certificate approve.",
	})
	if _, err := c.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csrName, csr, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("approve CSR: %w", err)
	}
	var cert []byte
	for i := 0; i < 10 && len(cert) == 0; i++ {
		got, err := c.CertificatesV1().CertificateSigningRequests().Get(ctx, csrName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cert = got.Status.Certificate; len(cert) == 0 {
			time.Sleep(time.Second)
		}
	}
	if len(cert) == 0 {
		return fmt.Errorf("after approving csr %s, the signed certificate did not appear on the resource", csrName)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if _, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: ns},
		Data:       map[string][]byte{"key.pem": keyPEM, "cert.pem": cert},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Secret %s: %w", secretName, err)
	}
	ignore, none := admissionv1.Ignore, admissionv1.SideEffectClassNone
	timeout, path := int32(5), "/mutate"
	if _, err := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: webhookName},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name: fqdn,
			ClientConfig: admissionv1.WebhookClientConfig{
				Service:  &admissionv1.ServiceReference{Name: service, Namespace: ns, Path: &path},
				CABundle: cert, // the script's CA_BUNDLE is the signed certificate itself
			},
			FailurePolicy: &ignore,
			Rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{"pipelines.kubeflow.org/cache_enabled": "true"}},
			AdmissionReviewVersions: []string{"v1beta1"},
		}},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create MutatingWebhookConfiguration %s: %w", webhookName, err)
	}
	return nil
}
