package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// jobRunner finishes the pods of Jobs once they run: a python3 container is executed for real (its command, env and
// volumes, as its ServiceAccount with a token bound to the pod, against the API server's loopback address); a Job
// a registry entry matches gets that stand-in; any other Job's pod is left running with the reason written on it,
// so its Job never completes and the install fails where it waits for it.
type jobRunner struct {
	cl       *cluster
	reg      *registry
	log      *eventLog
	self     string // this binary, for podexec
	secrets  listers.SecretLister
	cms      listers.ConfigMapLister
	mu       sync.Mutex
	started  map[types.UID]bool
	apiPort  string
	podsRoot string
}

func startJobRunner(ctx context.Context, cl *cluster, reg *registry, log *eventLog) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	port := cl.server[strings.LastIndex(cl.server, ":")+1:]
	f := informers.NewSharedInformerFactory(cl.client, 0)
	r := &jobRunner{cl: cl, reg: reg, log: log, self: self, apiPort: port, started: map[types.UID]bool{},
		secrets: f.Core().V1().Secrets().Lister(), cms: f.Core().V1().ConfigMaps().Lister(),
		podsRoot: cl.file("pods")}
	pods := f.Core().V1().Pods().Informer()
	handle := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			r.consider(ctx, pod)
		}
	}
	_, _ = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) }})
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	return nil
}

func ownerOf(pod *corev1.Pod, kind string) string {
	for _, o := range pod.OwnerReferences {
		if o.Kind == kind && o.Controller != nil && *o.Controller {
			return o.Name
		}
	}
	return ""
}

func (r *jobRunner) consider(ctx context.Context, pod *corev1.Pod) {
	job := ownerOf(pod, "Job")
	if job == "" || pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil || pod.Annotations[annExit] != "" {
		return
	}
	r.mu.Lock()
	if r.started[pod.UID] {
		r.mu.Unlock()
		return
	}
	r.started[pod.UID] = true
	r.mu.Unlock()
	go r.run(ctx, pod.DeepCopy(), job)
}

func (r *jobRunner) finish(ctx context.Context, pod *corev1.Pod, code int) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{annExit: strconv.Itoa(code)}}})
	if _, err := r.cl.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, patchOpts); err != nil {
		r.log.add(event{Kind: "harness-error", Namespace: pod.Namespace, Name: pod.Name, Detail: err.Error()})
	}
}

func (r *jobRunner) block(ctx context.Context, pod *corev1.Pod, reason string) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{annBlocked: reason}}})
	_, _ = r.cl.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, patchOpts)
	r.log.add(event{Kind: "job-unrunnable", Namespace: pod.Namespace, Name: pod.Name, Detail: reason})
}

func (r *jobRunner) run(ctx context.Context, pod *corev1.Pod, job string) {
	if s := r.reg.forJob(job); s != nil {
		switch s.Action.Type {
		case "succeed":
			r.log.add(event{Kind: "stand-in", StandIn: s.ID, Namespace: pod.Namespace, Name: pod.Name, Detail: "Job pod completed without running: " + s.How})
			r.finish(ctx, pod, 0)
		default:
			r.block(ctx, pod, fmt.Sprintf("stand-in %s: unknown action %q", s.ID, s.Action.Type))
		}
		return
	}
	if len(pod.Spec.Containers) != 1 || len(pod.Spec.InitContainers) != 0 || len(pod.Spec.Containers[0].Command) == 0 ||
		pod.Spec.Containers[0].Command[0] != "python3" {
		r.block(ctx, pod, "no container process can run here and no stand-in in e2e/stand-ins.json matches this Job "+job)
		return
	}
	code, detail := r.runPython(ctx, pod)
	r.log.add(event{Kind: "job-run", Namespace: pod.Namespace, Name: pod.Name, Detail: fmt.Sprintf("exit %d: %s", code, detail)})
	r.finish(ctx, pod, code)
}

// execPlan is what `harness podexec` needs to run a container's process in a private mount namespace.
type execPlan struct {
	Mounts  []mountPlan `json:"mounts"`
	Env     []string    `json:"env"`
	Argv    []string    `json:"argv"`
	WorkDir string      `json:"workDir"`
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
	Scratch string      `json:"scratch"`
}

type mountPlan struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

func (r *jobRunner) runPython(ctx context.Context, pod *corev1.Pod) (int, string) {
	dir := filepath.Join(r.podsRoot, pod.Namespace+"_"+pod.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 1, err.Error()
	}
	c := pod.Spec.Containers[0]
	plan := execPlan{Argv: append(append([]string{}, c.Command...), c.Args...), WorkDir: c.WorkingDir, UID: 65534, GID: 65534,
		Scratch: filepath.Join(dir, "scratch")}
	if sc := pod.Spec.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			plan.UID = int(*sc.RunAsUser)
		}
		if sc.RunAsGroup != nil {
			plan.GID = int(*sc.RunAsGroup)
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			plan.UID = int(*sc.RunAsUser)
		}
		if sc.RunAsGroup != nil {
			plan.GID = int(*sc.RunAsGroup)
		}
	}
	env, err := r.env(ctx, pod, c)
	if err != nil {
		return 1, err.Error()
	}
	plan.Env = env
	for _, m := range c.VolumeMounts {
		src, err := r.volume(ctx, pod, m.Name, filepath.Join(dir, "volumes", m.Name))
		if err != nil {
			return 1, fmt.Sprintf("volume %s: %v", m.Name, err)
		}
		if m.SubPath != "" {
			src = filepath.Join(src, m.SubPath)
		}
		plan.Mounts = append(plan.Mounts, mountPlan{Source: src, Target: m.MountPath})
	}
	planFile := filepath.Join(dir, "plan.json")
	data, _ := json.Marshal(plan)
	if err := os.WriteFile(planFile, data, 0o600); err != nil {
		return 1, err.Error()
	}
	out, err := os.Create(filepath.Join(dir, "output.log"))
	if err != nil {
		return 1, err.Error()
	}
	defer out.Close()
	runCtx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(runCtx, r.self, "podexec", planFile)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	tail := readTail(filepath.Join(dir, "output.log"), 600)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			return ee.ExitCode(), tail
		}
		return 1, err.Error() + ": " + tail
	}
	return 0, tail
}

func readTail(file string, n int) string {
	data, _ := os.ReadFile(file)
	s := strings.TrimSpace(string(data))
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// env resolves a container's environment as the kubelet would, plus what a pod's process sees of the cluster:
// the API server at its loopback address (no Service routing here) and a minimal PATH.
func (r *jobRunner) env(ctx context.Context, pod *corev1.Pod, c corev1.Container) ([]string, error) {
	env := []string{"PATH=/usr/bin:/bin", "HOSTNAME=" + pod.Name, "HOME=/",
		"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=" + r.apiPort}
	for _, ef := range c.EnvFrom {
		var data map[string]string
		switch {
		case ef.SecretRef != nil:
			s, err := r.cl.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ef.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if isOptional(ef.SecretRef.Optional) {
					continue
				}
				return nil, err
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		case ef.ConfigMapRef != nil:
			cm, err := r.cl.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ef.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if isOptional(ef.ConfigMapRef.Optional) {
					continue
				}
				return nil, err
			}
			data = cm.Data
		}
		for k, v := range data {
			env = append(env, ef.Prefix+k+"="+v)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
			continue
		}
		switch vf := e.ValueFrom; {
		case vf.SecretKeyRef != nil:
			s, err := r.cl.client.CoreV1().Secrets(pod.Namespace).Get(ctx, vf.SecretKeyRef.Name, metav1.GetOptions{})
			if err != nil {
				if isOptional(vf.SecretKeyRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			env = append(env, e.Name+"="+string(s.Data[vf.SecretKeyRef.Key]))
		case vf.ConfigMapKeyRef != nil:
			cm, err := r.cl.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, vf.ConfigMapKeyRef.Name, metav1.GetOptions{})
			if err != nil {
				if isOptional(vf.ConfigMapKeyRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			env = append(env, e.Name+"="+cm.Data[vf.ConfigMapKeyRef.Key])
		case vf.FieldRef != nil:
			env = append(env, e.Name+"="+fieldValue(pod, vf.FieldRef.FieldPath))
		default:
			return nil, fmt.Errorf("env %s: unsupported source", e.Name)
		}
	}
	return env, nil
}

func fieldValue(pod *corev1.Pod, path string) string {
	switch path {
	case "metadata.name":
		return pod.Name
	case "metadata.namespace":
		return pod.Namespace
	case "metadata.uid":
		return string(pod.UID)
	case "spec.nodeName":
		return pod.Spec.NodeName
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName
	case "status.podIP":
		return pod.Status.PodIP
	case "status.hostIP":
		return pod.Status.HostIP
	}
	if strings.HasPrefix(path, "metadata.labels['") {
		return pod.Labels[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.labels['"), "']")]
	}
	if strings.HasPrefix(path, "metadata.annotations['") {
		return pod.Annotations[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.annotations['"), "']")]
	}
	return ""
}

// volume writes a pod volume's files to dir, as the kubelet would project them.
func (r *jobRunner) volume(ctx context.Context, pod *corev1.Pod, name, dir string) (string, error) {
	var vol *corev1.Volume
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			vol = &pod.Spec.Volumes[i]
		}
	}
	if vol == nil {
		return "", fmt.Errorf("not declared")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	write := func(rel string, data []byte) error {
		file := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		return os.WriteFile(file, data, 0o644)
	}
	secretFiles := func(ns, secret string, items []corev1.KeyToPath, optional bool) error {
		s, err := r.cl.client.CoreV1().Secrets(ns).Get(ctx, secret, metav1.GetOptions{})
		if err != nil {
			if optional {
				return nil
			}
			return err
		}
		return project(s.Data, items, write)
	}
	cmFiles := func(ns, name string, items []corev1.KeyToPath, optional bool) error {
		cm, err := r.cl.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if optional {
				return nil
			}
			return err
		}
		data := map[string][]byte{}
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			data[k] = v
		}
		return project(data, items, write)
	}
	var err error
	switch {
	case vol.Secret != nil:
		err = secretFiles(pod.Namespace, vol.Secret.SecretName, vol.Secret.Items, isOptional(vol.Secret.Optional))
	case vol.ConfigMap != nil:
		err = cmFiles(pod.Namespace, vol.ConfigMap.Name, vol.ConfigMap.Items, isOptional(vol.ConfigMap.Optional))
	case vol.EmptyDir != nil:
		err = os.Chmod(dir, 0o777)
	case vol.DownwardAPI != nil:
		for _, item := range vol.DownwardAPI.Items {
			if item.FieldRef != nil {
				if err = write(item.Path, []byte(fieldValue(pod, item.FieldRef.FieldPath))); err != nil {
					break
				}
			}
		}
	case vol.Projected != nil:
		for _, src := range vol.Projected.Sources {
			switch {
			case src.Secret != nil:
				err = secretFiles(pod.Namespace, src.Secret.Name, src.Secret.Items, isOptional(src.Secret.Optional))
			case src.ConfigMap != nil:
				err = cmFiles(pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, isOptional(src.ConfigMap.Optional))
			case src.DownwardAPI != nil:
				for _, item := range src.DownwardAPI.Items {
					if item.FieldRef != nil {
						if err = write(item.Path, []byte(fieldValue(pod, item.FieldRef.FieldPath))); err != nil {
							break
						}
					}
				}
			case src.ServiceAccountToken != nil:
				err = r.token(ctx, pod, src.ServiceAccountToken, write)
			}
			if err != nil {
				break
			}
		}
	default:
		err = fmt.Errorf("volume type not supported by the python runner")
	}
	return dir, err
}

func (r *jobRunner) token(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection, write func(string, []byte) error) error {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		ExpirationSeconds: p.ExpirationSeconds,
		BoundObjectRef:    &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if p.Audience != "" {
		req.Spec.Audiences = []string{p.Audience}
	}
	tok, err := r.cl.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for ServiceAccount %s/%s: %w", pod.Namespace, sa, err)
	}
	return write(p.Path, []byte(tok.Status.Token))
}

func project(data map[string][]byte, items []corev1.KeyToPath, write func(string, []byte) error) error {
	if len(items) == 0 {
		for k, v := range data {
			if err := write(k, v); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("no key %q", it.Key)
		}
		if err := write(it.Path, v); err != nil {
			return err
		}
	}
	return nil
}
