// Package kwok pins KWOK (sigs.k8s.io/kwok), which the e2e harness runs as a process to give the control plane
// fake nodes and to move pods through their phases. Build it with `go build -o <dir>/kwok sigs.k8s.io/kwok/cmd/kwok`
// from this module; nothing of KWOK's source is kept here.
package kwok
