package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// kubeletLite decides, for each pod scheduled to a KWOK node, whether a real kubelet could start it: every Secret and
// ConfigMap it mounts or reads (and every key it names) exists unless optional, its PersistentVolumeClaims are bound
// and its ServiceAccount exists. It marks startable pods (KWOK's stages then run them) and writes the first failed
// check on the others; a change to any Secret, ConfigMap, PVC or ServiceAccount re-checks the waiting pods.
type kubeletLite struct {
	client   kubernetes.Interface
	log      *eventLog
	pods     listers.PodLister
	secrets  listers.SecretLister
	cms      listers.ConfigMapLister
	pvcs     listers.PersistentVolumeClaimLister
	sas      listers.ServiceAccountLister
	kick     chan struct{}
	mu       sync.Mutex
	reported map[types.UID]string
}

func startKubeletLite(ctx context.Context, client kubernetes.Interface, log *eventLog) *kubeletLite {
	f := informers.NewSharedInformerFactory(client, 0)
	k := &kubeletLite{
		client: client, log: log,
		pods: f.Core().V1().Pods().Lister(), secrets: f.Core().V1().Secrets().Lister(),
		cms: f.Core().V1().ConfigMaps().Lister(), pvcs: f.Core().V1().PersistentVolumeClaims().Lister(),
		sas:  f.Core().V1().ServiceAccounts().Lister(),
		kick: make(chan struct{}, 1), reported: map[types.UID]string{},
	}
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { k.poke() },
		UpdateFunc: func(any, any) { k.poke() },
		DeleteFunc: func(any) { k.poke() },
	}
	for _, inf := range []cache.SharedIndexInformer{
		f.Core().V1().Pods().Informer(), f.Core().V1().Secrets().Informer(), f.Core().V1().ConfigMaps().Informer(),
		f.Core().V1().PersistentVolumeClaims().Informer(), f.Core().V1().ServiceAccounts().Informer(),
	} {
		_, _ = inf.AddEventHandler(poke)
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	go k.loop(ctx)
	return k
}

func (k *kubeletLite) poke() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

func (k *kubeletLite) loop(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.kick:
		case <-tick.C:
		}
		// Let a burst of changes settle before walking the pods.
		time.Sleep(100 * time.Millisecond)
		k.sync(ctx)
	}
}

func (k *kubeletLite) sync(ctx context.Context) {
	pods, err := k.pods.List(everything)
	if err != nil {
		return
	}
	for _, pod := range pods {
		if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil || pod.Annotations[annStartable] == "true" ||
			pod.Status.Phase != corev1.PodPending {
			continue
		}
		reason := k.check(pod)
		if reason == "" {
			k.annotate(ctx, pod, map[string]any{annStartable: "true", annBlocked: nil})
			k.log.add(event{Kind: "pod-startable", Namespace: pod.Namespace, Name: pod.Name})
			continue
		}
		k.mu.Lock()
		changed := k.reported[pod.UID] != reason
		k.reported[pod.UID] = reason
		k.mu.Unlock()
		if changed {
			k.annotate(ctx, pod, map[string]any{annBlocked: reason})
			k.log.add(event{Kind: "pod-blocked", Namespace: pod.Namespace, Name: pod.Name, Detail: reason})
		}
	}
}

func (k *kubeletLite) annotate(ctx context.Context, pod *corev1.Pod, ann map[string]any) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
	_, err := k.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, patchOpts)
	if err != nil && !apierrors.IsNotFound(err) {
		k.log.add(event{Kind: "harness-error", Namespace: pod.Namespace, Name: pod.Name, Detail: err.Error()})
	}
}

func isOptional(b *bool) bool { return b != nil && *b }

func (k *kubeletLite) secretKeys(ns, name string, keys []string, optional bool) string {
	s, err := k.secrets.Secrets(ns).Get(name)
	if err != nil {
		if optional {
			return ""
		}
		return fmt.Sprintf("Secret %s/%s does not exist", ns, name)
	}
	for _, key := range keys {
		if _, ok := s.Data[key]; !ok && !optional {
			return fmt.Sprintf("Secret %s/%s has no key %q", ns, name, key)
		}
	}
	return ""
}

func (k *kubeletLite) configMapKeys(ns, name string, keys []string, optional bool) string {
	cm, err := k.cms.ConfigMaps(ns).Get(name)
	if err != nil {
		if optional {
			return ""
		}
		return fmt.Sprintf("ConfigMap %s/%s does not exist", ns, name)
	}
	for _, key := range keys {
		_, inData := cm.Data[key]
		_, inBinary := cm.BinaryData[key]
		if !inData && !inBinary && !optional {
			return fmt.Sprintf("ConfigMap %s/%s has no key %q", ns, name, key)
		}
	}
	return ""
}

func itemKeys(items []corev1.KeyToPath) []string {
	keys := make([]string, 0, len(items))
	for _, i := range items {
		keys = append(keys, i.Key)
	}
	return keys
}

// check returns why the pod could not start, or "".
func (k *kubeletLite) check(pod *corev1.Pod) string {
	ns := pod.Namespace
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	if _, err := k.sas.ServiceAccounts(ns).Get(sa); err != nil {
		return fmt.Sprintf("ServiceAccount %s/%s does not exist", ns, sa)
	}
	for _, v := range pod.Spec.Volumes {
		var why string
		switch {
		case v.Secret != nil:
			why = k.secretKeys(ns, v.Secret.SecretName, itemKeys(v.Secret.Items), isOptional(v.Secret.Optional))
		case v.ConfigMap != nil:
			why = k.configMapKeys(ns, v.ConfigMap.Name, itemKeys(v.ConfigMap.Items), isOptional(v.ConfigMap.Optional))
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					why = k.secretKeys(ns, src.Secret.Name, itemKeys(src.Secret.Items), isOptional(src.Secret.Optional))
				} else if src.ConfigMap != nil {
					why = k.configMapKeys(ns, src.ConfigMap.Name, itemKeys(src.ConfigMap.Items), isOptional(src.ConfigMap.Optional))
				}
				if why != "" {
					break
				}
			}
		case v.PersistentVolumeClaim != nil:
			why = k.claimBound(ns, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			why = k.claimBound(ns, pod.Name+"-"+v.Name)
		}
		if why != "" {
			return fmt.Sprintf("volume %s: %s", v.Name, why)
		}
	}
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			var why string
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				why = k.secretKeys(ns, r.Name, []string{r.Key}, isOptional(r.Optional))
			} else if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				why = k.configMapKeys(ns, r.Name, []string{r.Key}, isOptional(r.Optional))
			}
			if why != "" {
				return fmt.Sprintf("container %s, env %s: %s", c.Name, e.Name, why)
			}
		}
		for _, e := range c.EnvFrom {
			var why string
			if r := e.SecretRef; r != nil {
				why = k.secretKeys(ns, r.Name, nil, isOptional(r.Optional))
			} else if r := e.ConfigMapRef; r != nil {
				why = k.configMapKeys(ns, r.Name, nil, isOptional(r.Optional))
			}
			if why != "" {
				return fmt.Sprintf("container %s, envFrom: %s", c.Name, why)
			}
		}
	}
	return ""
}

func (k *kubeletLite) claimBound(ns, name string) string {
	pvc, err := k.pvcs.PersistentVolumeClaims(ns).Get(name)
	if err != nil {
		return fmt.Sprintf("PersistentVolumeClaim %s/%s does not exist", ns, name)
	}
	if pvc.Status.Phase != corev1.ClaimBound {
		return fmt.Sprintf("PersistentVolumeClaim %s/%s is %s, not Bound", ns, name, pvc.Status.Phase)
	}
	return ""
}
