package main

import (
	"encoding/json"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

var (
	everything = labels.Everything()
	patchOpts  = metav1.PatchOptions{FieldManager: "kfkit-e2e-harness"}
)

// event is one line of <state>/events.jsonl: what the harness saw and did, for the e2e report.
type event struct {
	Time      string `json:"time"`
	Kind      string `json:"kind"`
	StandIn   string `json:"standIn,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

type eventLog struct {
	mu   sync.Mutex
	file *os.File
}

func openEventLog(path string) (*eventLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &eventLog{file: f}, nil
}

func (l *eventLog) add(e event) {
	e.Time = time.Now().UTC().Format(time.RFC3339Nano)
	line, _ := json.Marshal(e)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.file.Write(append(line, '\n'))
}
