package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// procs starts the control plane's processes, each with its log file under <state>/logs, in its own process group
// and with a parent-death signal, so nothing outlives the supervisor — even when it is killed.
type procs struct {
	logDir  string
	mu      sync.Mutex
	running []*exec.Cmd
	// exited receives the name of a process that ended while the supervisor still needed it.
	exited   chan string
	stopping bool
}

func newProcs(logDir string) (*procs, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	return &procs{logDir: logDir, exited: make(chan string, 16)}, nil
}

func (p *procs) start(name string, env []string, bin string, args ...string) error {
	log, err := os.OpenFile(filepath.Join(p.logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	p.mu.Lock()
	p.running = append(p.running, cmd)
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		log.Close()
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if !stopping {
			fmt.Fprintf(os.Stderr, "harness: %s exited: %v (log: %s)\n", name, err, filepath.Join(p.logDir, name+".log"))
			p.exited <- name
		}
	}()
	return nil
}

// stopAll ends every process, last started first: SIGTERM to its group, SIGKILL after a grace period.
func (p *procs) stopAll(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	running := append([]*exec.Cmd(nil), p.running...)
	p.mu.Unlock()
	for i := len(running) - 1; i >= 0; i-- {
		if c := running[i]; c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(grace)
	for _, c := range running {
		for c.ProcessState == nil && time.Now().Before(deadline) {
			if syscall.Kill(c.Process.Pid, 0) != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitFor polls check until it succeeds or the timeout passes.
func waitFor(ctx context.Context, what string, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s: %v", what, timeout, last)
}
