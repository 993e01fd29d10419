package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"
)

// releaseKinds are the objects that deliver a managed chart: a Flux HelmRelease or an Argo CD Application, and the
// custom resources operators reconcile into a component (e.g. Knative's KnativeServing).
var releaseKinds = []struct {
	gvr   schema.GroupVersionResource
	chart func(u *unstructured.Unstructured) string
}{
	{schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}, func(u *unstructured.Unstructured) string {
		c, _, _ := unstructured.NestedString(u.Object, "spec", "chart", "spec", "chart")
		return c
	}},
	{schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}, func(u *unstructured.Unstructured) string {
		c, _, _ := unstructured.NestedString(u.Object, "spec", "source", "chart")
		return c
	}},
}

// chartStandIns plays the part of Flux's helm-controller, Argo CD and the charts they would install: for a release
// whose chart has an entry in the registry, it installs the CRDs the entry names, starts the processes it names
// (once) and reports the release healthy. A release no entry covers is left as it is: the install waits and fails.
type chartStandIns struct {
	cl      *cluster
	reg     *registry
	log     *eventLog
	dyn     dynamic.Interface
	crdDir  string
	bin     string
	mu      sync.Mutex
	started map[string]bool
	done    map[string]bool
}

func startChartStandIns(ctx context.Context, cl *cluster, reg *registry, log *eventLog, crdDir, bin string) error {
	dyn, err := dynamic.NewForConfig(cl.config)
	if err != nil {
		return err
	}
	c := &chartStandIns{cl: cl, reg: reg, log: log, dyn: dyn, crdDir: crdDir, bin: bin, started: map[string]bool{}, done: map[string]bool{}}
	go c.watchWhenServed(ctx)
	return nil
}

// watchWhenServed starts an informer for each release kind once the API server serves it (its CRD is installed by
// the cluster's admins' tools, or by a chart stand-in).
func (c *chartStandIns) watchWhenServed(ctx context.Context) {
	watching := map[schema.GroupVersionResource]bool{}
	for ctx.Err() == nil {
		for _, rk := range releaseKinds {
			if watching[rk.gvr] {
				continue
			}
			if _, err := c.dyn.Resource(rk.gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
				continue
			}
			watching[rk.gvr] = true
			chart := rk.chart
			gvr := rk.gvr
			f := dynamicinformer.NewDynamicSharedInformerFactory(c.dyn, 0)
			inf := f.ForResource(gvr).Informer()
			handle := func(obj any) {
				if u, ok := obj.(*unstructured.Unstructured); ok && u.GetDeletionTimestamp() == nil {
					go c.release(ctx, gvr, u.DeepCopy(), chart(u))
				}
			}
			_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) }})
			f.Start(ctx.Done())
		}
		for _, s := range c.reg.StandIns {
			if s.Match != nil && s.Match.Kind == "Resource" && !watching[s.gvr()] {
				if _, err := c.dyn.Resource(s.gvr()).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
					continue
				}
				gvr := s.gvr()
				watching[gvr] = true
				entry := s
				f := dynamicinformer.NewDynamicSharedInformerFactory(c.dyn, 0)
				inf := f.ForResource(gvr).Informer()
				handle := func(obj any) {
					u, ok := obj.(*unstructured.Unstructured)
					if !ok || u.GetDeletionTimestamp() != nil {
						return
					}
					if entry.Match.Has != "" {
						if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, strings.Split(entry.Match.Has, ".")...); !found {
							return
						}
					}
					go c.apply(ctx, gvr, u.DeepCopy(), &entry)
				}
				_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) }})
				f.Start(ctx.Done())
			}
		}
		time.Sleep(time.Second)
	}
}

// gvr of a "Resource" match: apiVersion and resource (plural) of the custom resource it stands in for.
func (s *standIn) gvr() schema.GroupVersionResource {
	gv, _ := schema.ParseGroupVersion(s.Match.APIVersion)
	return gv.WithResource(s.Match.Resource)
}

func (c *chartStandIns) release(ctx context.Context, gvr schema.GroupVersionResource, u *unstructured.Unstructured, chart string) {
	s := c.reg.forChart(chart)
	if s == nil {
		key := "missing/" + u.GetNamespace() + "/" + u.GetName()
		c.mu.Lock()
		seen := c.done[key]
		c.done[key] = true
		c.mu.Unlock()
		if !seen {
			c.log.add(event{Kind: "no-stand-in", Namespace: u.GetNamespace(), Name: u.GetName(), Detail: "chart " + chart + " has no entry in e2e/stand-ins.json"})
		}
		return
	}
	c.apply(ctx, gvr, u, s)
}

// apply performs a stand-in once per object generation: CRDs, processes, then the object's health. The key holds the
// UID: an object deleted (pruned) and created again starts over at generation 1.
func (c *chartStandIns) apply(ctx context.Context, gvr schema.GroupVersionResource, u *unstructured.Unstructured, s *standIn) {
	key := fmt.Sprintf("%s/%s/%s/%s/%d", gvr.Resource, u.GetNamespace(), u.GetName(), u.GetUID(), u.GetGeneration())
	c.mu.Lock()
	if c.done[key] {
		c.mu.Unlock()
		return
	}
	c.done[key] = true
	c.mu.Unlock()
	fail := func(err error) {
		c.log.add(event{Kind: "harness-error", StandIn: s.ID, Namespace: u.GetNamespace(), Name: u.GetName(), Detail: err.Error()})
	}
	if s.Action.Type == "profile-quota" {
		if err := c.profileQuota(ctx, u); err != nil {
			fail(err)
			return
		}
		c.log.add(event{Kind: "stand-in", StandIn: s.ID, Name: u.GetName(), Detail: s.How})
		return
	}
	for _, crd := range s.Action.CRDs {
		if err := installCRDs(ctx, c.dyn, c.crdDir, crd, s.ID); err != nil {
			fail(err)
			return
		}
	}
	for _, run := range s.Action.Run {
		if err := c.startOnce(run); err != nil {
			fail(err)
			return
		}
	}
	if err := c.markHealthy(ctx, gvr, u); err != nil {
		fail(err)
		return
	}
	c.log.add(event{Kind: "stand-in", StandIn: s.ID, Namespace: u.GetNamespace(), Name: u.GetName(), Detail: s.How})
}

func (c *chartStandIns) startOnce(run string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started[run] {
		return nil
	}
	args := strings.Fields(strings.ReplaceAll(run, "{kubeconfig}", c.cl.kubeconfig))
	if len(args) == 0 {
		return fmt.Errorf("empty run entry")
	}
	name := strings.Join(args[:min(2, len(args))], "-")
	if err := c.cl.procs.start(name, nil, filepath.Join(c.bin, args[0]), args[1:]...); err != nil {
		return err
	}
	c.started[run] = true
	return nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRDs installs "generated:<family>" (every file in <crds>/<family>) or one "permissive:…" CRD, server-side,
// and waits until they are Established.
func installCRDs(ctx context.Context, dyn dynamic.Interface, crdDir, spec, manager string) error {
	var objs []*unstructured.Unstructured
	switch {
	case strings.HasPrefix(spec, "generated:"):
		dir := filepath.Join(crdDir, strings.TrimPrefix(spec, "generated:"))
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			return fmt.Errorf("%s: no generated CRDs in %s", spec, dir)
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			for _, doc := range strings.Split(string(data), "\n---") {
				if strings.TrimSpace(doc) == "" {
					continue
				}
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				if u.GetKind() == "CustomResourceDefinition" {
					objs = append(objs, u)
				}
			}
		}
	case strings.HasPrefix(spec, "permissive:"):
		u, err := permissiveCRD(strings.TrimPrefix(spec, "permissive:"))
		if err != nil {
			return err
		}
		objs = append(objs, u)
	default:
		return fmt.Errorf("CRD source %q: generated:<family> or permissive:<group>/<version>/<Kind>/<plural>[/Cluster]", spec)
	}
	force := true
	for _, o := range objs {
		data, _ := json.Marshal(o.Object)
		if _, err := dyn.Resource(crdGVR).Patch(ctx, o.GetName(), types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: "kfkit-e2e-" + manager, Force: &force}); err != nil {
			return fmt.Errorf("CRD %s: %w", o.GetName(), err)
		}
	}
	for _, o := range objs {
		if err := waitFor(ctx, "CRD "+o.GetName(), 60*time.Second, func() error {
			got, err := dyn.Resource(crdGVR).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
			return fmt.Errorf("not Established")
		}); err != nil {
			return err
		}
	}
	return nil
}

// permissiveCRD is a CRD that accepts any object of the kind: for APIs whose projects publish no Go types a CRD can
// be generated from. Its schema checks nothing (recorded as unverified in the registry).
func permissiveCRD(spec string) (*unstructured.Unstructured, error) {
	parts := strings.Split(spec, "/")
	if len(parts) < 4 || len(parts) > 5 {
		return nil, fmt.Errorf("permissive CRD %q: <group>/<version>/<Kind>/<plural>[/Cluster]", spec)
	}
	group, version, kind, plural := parts[0], parts[1], parts[2], parts[3]
	scope := apiextv1.NamespaceScoped
	if len(parts) == 5 {
		if parts[4] != "Cluster" {
			return nil, fmt.Errorf("permissive CRD %q: the fifth part may only be Cluster", spec)
		}
		scope = apiextv1.ClusterScoped
	}
	preserve := true
	crd := apiextv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group, Labels: map[string]string{"e2e.kfkit.dev/stand-in": "permissive-crd"}},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: group, Scope: scope,
			Names: apiextv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name: version, Served: true, Storage: true,
				Subresources: &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &preserve,
				}},
			}},
		},
	}
	data, err := json.Marshal(crd)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	return u, json.Unmarshal(data, &u.Object)
}

// profileQuota writes what Kubeflow's profile controller does with a Profile's resourceQuotaSpec: the ResourceQuota
// kf-resource-quota in the profile's namespace (profile_controller.go updateResourceQuota).
func (c *chartStandIns) profileQuota(ctx context.Context, u *unstructured.Unstructured) error {
	spec, found, err := unstructured.NestedMap(u.Object, "spec", "resourceQuotaSpec")
	if err != nil || !found {
		return err
	}
	quota := map[string]any{
		"apiVersion": "v1", "kind": "ResourceQuota",
		"metadata": map[string]any{"name": "kf-resource-quota", "namespace": u.GetName()},
		"spec":     spec,
	}
	data, _ := json.Marshal(quota)
	force := true
	_, err = c.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"}).Namespace(u.GetName()).
		Patch(ctx, "kf-resource-quota", types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "kfkit-e2e-profile-controller", Force: &force})
	return err
}

// markHealthy writes what the real controller would once the release is installed: Flux's Ready condition and
// Argo CD's health and sync status (through the status subresource where the CRD has one).
func (c *chartStandIns) markHealthy(ctx context.Context, gvr schema.GroupVersionResource, u *unstructured.Unstructured) error {
	now := time.Now().UTC().Format(time.RFC3339)
	status := map[string]any{
		"observedGeneration": u.GetGeneration(),
		"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "reason": "StandIn", "lastTransitionTime": now,
			"message": "kfkit e2e harness: stand-in (e2e/stand-ins.json)", "observedGeneration": u.GetGeneration(),
		}},
	}
	if gvr.Group == "argoproj.io" {
		status = map[string]any{"health": map[string]any{"status": "Healthy"}, "sync": map[string]any{"status": "Synced"}}
	}
	patch, _ := json.Marshal(map[string]any{"status": status})
	ri := c.dyn.Resource(gvr).Namespace(u.GetNamespace())
	_, err := ri.Patch(ctx, u.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kfkit-e2e-harness"}, "status")
	if apierrors.IsNotFound(err) {
		_, err = ri.Patch(ctx, u.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kfkit-e2e-harness"})
	}
	return err
}
