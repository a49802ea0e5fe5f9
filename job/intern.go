package job

import "unique"

// interned holds the strings every pod repeats (phases, condition types
// and statuses, the bounded reasons and exit codes, API versions): one copy
// serves all pods instead of one decoded copy each.
var interned = func() map[string]string {
	m := map[string]string{}
	for _, list := range [][]string{{
		"", "Pending", "Running", "Succeeded", "Failed", "Unknown",
		"True", "False",
		"Ready", "ContainersReady", "Initialized", "PodScheduled", "PodReadyToStartContainers", "DisruptionTarget",
		"Job", "batch/v1", "v1", "CronJob",
	}, ContainerReasons, PodReasons, WaitingReasons, FailedReasons} {
		for _, s := range list {
			m[s] = s
		}
	}
	for _, r := range defaultExtendedResources {
		m[string(r)] = string(r)
	}
	for code := range int32(256) {
		s := ExitCode(code)
		m[s] = s
	}
	return m
}()

func intern(s string) string {
	if v, ok := interned[s]; ok {
		return v
	}
	return s
}

// internNamespace is the canonical copy of a namespace name, one for all
// the records of that namespace (tens to thousands of namespaces, against
// up to 100k pods): the one the pod records' handles keep, dropped by the
// runtime once no record of the namespace is left.
func internNamespace(ns string) string { return unique.Make(ns).Value() }
