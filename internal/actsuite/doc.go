// Package actsuite runs the action the way a runner does: nektos/act, in
// container mode, loads action.yml (a copy that differs only in runs.image,
// pointed at an image built from this tree), pulls the action image from the
// local registry, starts it with INPUT_*/GITHUB_* variables, the workspace
// and the Docker socket, and the test reads the outputs, the job summary,
// the log and the registry. The tests live in the _test files; this file
// only names the package. See docs/act.md for what act does and does not
// reproduce of GitHub's runner.
package actsuite
