package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	listers "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// egressProxy is where the API server's traffic to the cluster goes (its egress selector's "cluster" network,
// HTTP CONNECT over a Unix socket): admission webhooks, CRD conversion and aggregated APIs addressed as Services.
// A CONNECT to <ClusterIP>:<port> is resolved the way kube-proxy would — the Service, a ready endpoint from its
// EndpointSlices, the pod behind it — and answered by a stand-in server for that pod: it serves TLS with the
// certificate the pod mounts for that port (so the caBundle kfkit's webhook configuration carries is really
// checked) and admits every request, logging it. No Service, no ready endpoint, or no certificate: the connection
// fails, as it would in a cluster.
type egressProxy struct {
	log      *eventLog
	services cache.Indexer
	slices   discoverylisters.EndpointSliceLister
	pods     listers.PodLister
	secrets  listers.SecretLister
	mu       sync.Mutex
}

const byClusterIP = "clusterIP"

func startEgressProxy(ctx context.Context, cl *cluster, log *eventLog, socket string) error {
	f := informers.NewSharedInformerFactory(cl.client, 0)
	svcInf := f.Core().V1().Services().Informer()
	if err := svcInf.AddIndexers(cache.Indexers{byClusterIP: func(obj any) ([]string, error) {
		s := obj.(*corev1.Service)
		return s.Spec.ClusterIPs, nil
	}}); err != nil {
		return err
	}
	p := &egressProxy{log: log, services: svcInf.GetIndexer(), slices: f.Discovery().V1().EndpointSlices().Lister(),
		pods: f.Core().V1().Pods().Lister(), secrets: f.Core().V1().Secrets().Lister()}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); l.Close() }()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go p.handle(conn)
		}
	}()
	return nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (p *egressProxy) handle(conn net.Conn) {
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		conn.Close()
		return
	}
	fail := func(code int, why string) {
		p.log.add(event{Kind: "egress-refused", Name: req.Host, Detail: why})
		fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s", code, http.StatusText(code), len(why), why)
		conn.Close()
	}
	if req.Method != http.MethodConnect {
		fail(http.StatusMethodNotAllowed, "only CONNECT")
		return
	}
	host, portText, err := net.SplitHostPort(req.Host)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	port, _ := strconv.Atoi(portText)
	objs, _ := p.services.ByIndex(byClusterIP, host)
	if len(objs) == 0 {
		fail(http.StatusBadGateway, "no Service has the address "+host)
		return
	}
	svc := objs[0].(*corev1.Service)
	cert, pod, err := p.backend(svc, int32(port))
	if err != nil {
		fail(http.StatusServiceUnavailable, fmt.Sprintf("Service %s/%s port %d: %v", svc.Namespace, svc.Name, port, err))
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	target := fmt.Sprintf("%s/%s (pod %s)", svc.Namespace, svc.Name, pod)
	tlsConn := tls.Server(bufferedConn{conn, br}, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
	srv := &http.Server{Handler: p.standIn(target), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: nil}
	_ = srv.Serve(&oneConnListener{conn: tlsConn})
}

// oneConnListener serves a single, already accepted connection.
type oneConnListener struct {
	conn net.Conn
	once sync.Once
	done chan struct{}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() {
		c = l.conn
		l.done = make(chan struct{})
	})
	if c != nil {
		return &closeNotifyConn{Conn: c, done: l.done}, nil
	}
	<-l.done
	return nil, io.EOF
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

type closeNotifyConn struct {
	net.Conn
	done chan struct{}
	once sync.Once
}

func (c *closeNotifyConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// backend finds a ready endpoint of the Service port and the serving certificate its pod mounts for that port.
func (p *egressProxy) backend(svc *corev1.Service, port int32) (*tls.Certificate, string, error) {
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return nil, "", fmt.Errorf("the Service has no such port")
	}
	slices, err := p.slices.EndpointSlices(svc.Namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name}))
	if err != nil {
		return nil, "", err
	}
	for _, s := range slices {
		for _, ep := range s.Endpoints {
			if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
				continue
			}
			pod, err := p.pods.Pods(ep.TargetRef.Namespace).Get(ep.TargetRef.Name)
			if err != nil {
				continue
			}
			cert, err := p.podCertificate(pod, sp.TargetPort)
			if err != nil {
				return nil, pod.Name, err
			}
			return cert, pod.Name, nil
		}
	}
	return nil, "", fmt.Errorf("no ready endpoint")
}

// certificatePairs are the key names under which Kubernetes components keep a serving certificate and its key.
var certificatePairs = [][2]string{{"tls.crt", "tls.key"}, {"cert.pem", "key.pem"}, {"server.crt", "server.key"}}

func (p *egressProxy) podCertificate(pod *corev1.Pod, target intstr.IntOrString) (*tls.Certificate, error) {
	for _, c := range pod.Spec.Containers {
		serves := false
		for _, cp := range c.Ports {
			if (target.Type == intstr.Int && cp.ContainerPort == target.IntVal) || (target.Type == intstr.String && cp.Name == target.StrVal) {
				serves = true
			}
		}
		if !serves {
			continue
		}
		mounted := map[string]bool{}
		for _, m := range c.VolumeMounts {
			mounted[m.Name] = true
		}
		for _, v := range pod.Spec.Volumes {
			if !mounted[v.Name] {
				continue
			}
			var names []string
			if v.Secret != nil {
				names = append(names, v.Secret.SecretName)
			}
			if v.Projected != nil {
				for _, src := range v.Projected.Sources {
					if src.Secret != nil {
						names = append(names, src.Secret.Name)
					}
				}
			}
			for _, name := range names {
				s, err := p.secrets.Secrets(pod.Namespace).Get(name)
				if err != nil {
					continue
				}
				for _, pair := range certificatePairs {
					if crt, key := s.Data[pair[0]], s.Data[pair[1]]; len(crt) > 0 && len(key) > 0 {
						cert, err := tls.X509KeyPair(crt, key)
						if err != nil {
							return nil, fmt.Errorf("Secret %s/%s: %v", pod.Namespace, name, err)
						}
						return &cert, nil
					}
				}
			}
		}
		return nil, fmt.Errorf("container %s serves the port but mounts no serving certificate", c.Name)
	}
	return nil, fmt.Errorf("no container of pod %s serves target port %s", pod.Name, target.String())
}

// standIn answers admission and conversion reviews: every request is admitted unchanged; conversions only
// relabel objects with the requested version.
func (p *egressProxy) standIn(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var review map[string]any
		if err := json.Unmarshal(body, &review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		kind, _ := review["kind"].(string)
		req, _ := review["request"].(map[string]any)
		uid := req["uid"]
		var resp map[string]any
		detail := ""
		switch kind {
		case "AdmissionReview":
			resp = map[string]any{"uid": uid, "allowed": true}
			k, _ := req["kind"].(map[string]any)
			detail = fmt.Sprintf("%s %v %v/%v", req["operation"], k["kind"], req["namespace"], req["name"])
		case "ConversionReview":
			desired, _ := req["desiredAPIVersion"].(string)
			objects, _ := req["objects"].([]any)
			for _, o := range objects {
				if m, ok := o.(map[string]any); ok {
					m["apiVersion"] = desired
				}
			}
			resp = map[string]any{"uid": uid, "convertedObjects": objects, "result": map[string]any{"status": "Success"}}
			detail = fmt.Sprintf("convert %d object(s) to %s", len(objects), desired)
		default:
			http.Error(w, "not an AdmissionReview or ConversionReview", http.StatusBadRequest)
			return
		}
		p.log.add(event{Kind: "webhook", StandIn: "webhook-servers", Name: target, Detail: r.URL.Path + ": " + detail})
		review["response"] = resp
		delete(review, "request")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	})
}
