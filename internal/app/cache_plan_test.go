package app

import (
	"strings"
	"testing"
)

// With cache: none the plan, the json output, the log and the summary
// name no cache ref: they say what the build does.
func TestRunnerContractCacheNoneNamesNoCacheRefs(t *testing.T) {
	r := runAsRunner(t, "push_main", map[string]string{"cache": "none"}, nil)
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stdout)
	}
	if from, to := planCacheRefs(t, r); len(from)+len(to) != 0 {
		t.Errorf("json output lists cache refs with cache: none: from %v, to %v", from, to)
	}
	if strings.Contains(r.stdout, ":builder-main") || strings.Contains(r.summary, ":builder-main") {
		t.Errorf("the log or the summary lists cache refs with cache: none:\n%s\n%s", r.stdout, r.summary)
	}
	if !strings.Contains(r.stdout, "cache is none") {
		t.Errorf("the log does not say why no cache is used:\n%s", r.stdout)
	}
}

// The fork rule is the event context's (ghactions), and the tag plan
// follows it: a fork's pull request writes no cache ref.
func TestRunnerContractForkPlanWritesNoCache(t *testing.T) {
	r := runAsRunner(t, "pull_request_fork", nil, nil)
	if r.code != 0 {
		t.Fatalf("exit code %d\n%s", r.code, r.stdout)
	}
	if from, to := planCacheRefs(t, r); len(to) != 0 || len(from) == 0 {
		t.Errorf("a fork's plan: cache from %v, to %v; want reads only", from, to)
	}
	if !strings.Contains(r.stdout, "pull request from a fork: the cache is read, never written") {
		t.Errorf("the plan does not say why nothing is written:\n%s", r.stdout)
	}
}
