// Command kcp is the e2e harness's control plane in one binary: etcd (embedded), kube-apiserver,
// kube-controller-manager, kube-scheduler and kubectl, each built from the Kubernetes Go modules at the
// release pinned in go.mod. It dispatches on the name it is called by (kubectl, kube-apiserver, …: the
// harness links those names to it) or on its first argument (kcp kube-apiserver --flags…).
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // CronJob time zones, as the upstream mains do

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

var programs = map[string]func(args []string) int{
	"etcd":                    runEtcd,
	"kube-apiserver":          func(args []string) int { return runCobra(apiserver.NewAPIServerCommand(), args) },
	"kube-controller-manager": func(args []string) int { return runCobra(controllermanager.NewControllerManagerCommand(), args) },
	"kube-scheduler":          func(args []string) int { return runCobra(scheduler.NewSchedulerCommand(), args) },
	"kubectl":                 runKubectl,
}

func runCobra(command *cobra.Command, args []string) int {
	command.SetArgs(args)
	return cli.Run(command)
}

func runKubectl(args []string) int {
	os.Args = append([]string{"kubectl"}, args...)
	logs.GlogSetter(kubectl.GetLogVerbosity(os.Args)) //nolint:errcheck
	command := kubectl.NewDefaultKubectlCommand()
	command.SetArgs(args)
	if err := cli.RunNoErrOutput(command); err != nil {
		kubectlutil.CheckErr(err)
	}
	return 0
}

func main() {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	if run, ok := programs[name]; ok {
		os.Exit(run(os.Args[1:]))
	}
	if len(os.Args) > 1 {
		if run, ok := programs[os.Args[1]]; ok {
			os.Exit(run(os.Args[2:]))
		}
	}
	fmt.Fprintf(os.Stderr, "usage: kcp <program> [flags]; programs: %s\n", strings.Join(sortedNames(), ", "))
	os.Exit(2)
}

func sortedNames() []string {
	names := make([]string, 0, len(programs))
	for n := range programs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
