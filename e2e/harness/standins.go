package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// standIn is one entry of e2e/stand-ins.json: something that cannot run here, what replaces it and what that leaves
// unverified. Entries with a match are applied by the harness to the objects they match; the others describe
// mechanisms that are always on (KWOK for kubelets, the stand-in webhook servers, …). The harness stands in for
// nothing that is not in the registry: a Job or chart no entry matches stays unfinished, and the install fails.
type standIn struct {
	ID         string     `json:"id"`
	Replaces   string     `json:"replaces"`
	How        string     `json:"how"`
	Unverified string     `json:"unverified"`
	Match      *matchRule `json:"match,omitempty"`
	Action     *action    `json:"action,omitempty"`
}

type matchRule struct {
	// Kind: Job (a Job's pods, by the Job's name prefix), Deployment (a Deployment's pods, by name), Chart (a managed
	// Helm release, by chart name, delivered as a Flux HelmRelease or an Argo CD Application) or Resource (custom
	// resources of apiVersion/resource, which an operator would reconcile).
	Kind       string `json:"kind"`
	NamePrefix string `json:"namePrefix,omitempty"`
	Name       string `json:"name,omitempty"`
	Chart      string `json:"chart,omitempty"`
	// APIVersion and Resource: a custom resource an operator would reconcile (Kind Resource).
	APIVersion string `json:"apiVersion,omitempty"`
	Resource   string `json:"resource,omitempty"`
	// APIs: "<group>/<Kind>" of APIs the cluster's admins provide (Kind ExternalApi; applied by the e2e runner).
	APIs []string `json:"apis,omitempty"`
	// Has: a dotted field path the object must have for the entry to apply (Kind Resource), e.g. spec.acme.
	Has string `json:"has,omitempty"`
}

type action struct {
	// Type: succeed (the Job's pod ends with exit 0), chart (CRDs installed, processes started, release Ready),
	// cache-deployer (what KFP's cache deployer does, as its ServiceAccount), crds (CRDs only: the e2e runner
	// installs them before the install, as the cluster's admins would), profile-quota (a Profile's ResourceQuota,
	// as Kubeflow's profile controller writes it).
	Type string `json:"type"`
	// CRDs: "generated:<family>" (controller-gen output of the family's Go API types, made at test time) or
	// "permissive:<group>/<version>/<Kind>/<plural>[/Cluster]" (a CRD that accepts any object: no Go types to generate from).
	CRDs []string `json:"crds,omitempty"`
	// Run: processes to start once, as "<binary> <args…>" relative to the binary directory.
	Run []string `json:"run,omitempty"`
}

type registry struct {
	Comment  string    `json:"$comment"`
	StandIns []standIn `json:"standIns"`
}

func loadRegistry(file string) (*registry, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r registry
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	seen := map[string]bool{}
	for _, s := range r.StandIns {
		if s.ID == "" || s.Replaces == "" || s.How == "" || s.Unverified == "" {
			return nil, fmt.Errorf("%s: stand-in %q needs id, replaces, how and unverified", file, s.ID)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("%s: stand-in %q listed twice", file, s.ID)
		}
		seen[s.ID] = true
		if (s.Match == nil) != (s.Action == nil) {
			return nil, fmt.Errorf("%s: stand-in %q: match and action go together", file, s.ID)
		}
	}
	return &r, nil
}

// forJob returns the stand-in for a Job's pods, if any.
func (r *registry) forJob(jobName string) *standIn {
	for i, s := range r.StandIns {
		if s.Match != nil && s.Match.Kind == "Job" && strings.HasPrefix(jobName, s.Match.NamePrefix) {
			return &r.StandIns[i]
		}
	}
	return nil
}

// forDeployment returns the stand-in for a Deployment's pods, if any.
func (r *registry) forDeployment(name string) *standIn {
	for i, s := range r.StandIns {
		if s.Match != nil && s.Match.Kind == "Deployment" && s.Match.Name == name {
			return &r.StandIns[i]
		}
	}
	return nil
}

// forChart returns the stand-in for a managed chart, if any.
func (r *registry) forChart(chart string) *standIn {
	for i, s := range r.StandIns {
		if s.Match != nil && s.Match.Kind == "Chart" && s.Match.Chart == chart {
			return &r.StandIns[i]
		}
	}
	return nil
}
