package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// podexec runs a container's process on this machine, in the private mount namespace its parent made: each volume is
// bind-mounted at its mount path — over a tmpfs-backed overlay of the nearest existing directory where the path does
// not exist, so nothing on the machine's file system changes — then it drops to the pod's user and group and
// executes the command with the pod's environment.
func podexec(planFile string) error {
	data, err := os.ReadFile(planFile)
	if err != nil {
		return err
	}
	var plan execPlan
	if err := json.Unmarshal(data, &plan); err != nil {
		return err
	}
	if err := os.MkdirAll(plan.Scratch, 0o700); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", plan.Scratch, "tmpfs", 0, "mode=0700"); err != nil {
		return fmt.Errorf("scratch tmpfs: %w", err)
	}
	overlays := 0
	for _, m := range plan.Mounts {
		if _, err := os.Stat(m.Target); os.IsNotExist(err) {
			ancestor := filepath.Dir(m.Target)
			for {
				if _, err := os.Stat(ancestor); err == nil {
					break
				}
				ancestor = filepath.Dir(ancestor)
			}
			if ancestor, err = filepath.EvalSymlinks(ancestor); err != nil {
				return err
			}
			if ancestor == "/" {
				return fmt.Errorf("mount %s: only / exists above it; refusing to overlay the root", m.Target)
			}
			overlays++
			upper := filepath.Join(plan.Scratch, fmt.Sprintf("upper%d", overlays))
			work := filepath.Join(plan.Scratch, fmt.Sprintf("work%d", overlays))
			for _, d := range []string{upper, work} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", ancestor, upper, work)
			if err := syscall.Mount("overlay", ancestor, "overlay", 0, opts); err != nil {
				return fmt.Errorf("overlay %s: %w", ancestor, err)
			}
			if st, err := os.Stat(m.Source); err == nil && st.Mode().IsRegular() {
				err = os.MkdirAll(filepath.Dir(m.Target), 0o755)
				if err == nil {
					err = os.WriteFile(m.Target, nil, 0o644)
				}
				if err != nil {
					return err
				}
			} else if err := os.MkdirAll(m.Target, 0o755); err != nil {
				return err
			}
		}
		if err := syscall.Mount(m.Source, m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", m.Target, err)
		}
	}
	if err := syscall.Setgroups(nil); err != nil {
		return err
	}
	if err := syscall.Setgid(plan.GID); err != nil {
		return err
	}
	if err := syscall.Setuid(plan.UID); err != nil {
		return err
	}
	dir := plan.WorkDir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return err
	}
	path, err := lookIn(plan.Env, plan.Argv[0])
	if err != nil {
		return err
	}
	return syscall.Exec(path, plan.Argv, plan.Env)
}

// lookIn finds a command on the PATH of the process's environment (not the harness's).
func lookIn(env []string, name string) (string, error) {
	for _, e := range env {
		if len(e) > 5 && e[:5] == "PATH=" {
			for _, dir := range filepath.SplitList(e[5:]) {
				p := filepath.Join(dir, name)
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
					return p, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s not found on the pod's PATH", name)
}
