# scripts/lib/daemons.sh — the daemons of the test environment, sourced by
# scripts/testenv and scripts/testenv-sigstore: each records its pid in
# $PIDS/NAME.pid and logs to $LOGS/NAME.log. The caller defines log and die
# and sets PIDS, LOGS and WAIT_SECONDS.
# shellcheck shell=bash

# tail_log NAME: the end of a service's log, for error messages.
tail_log() {
	local f=$LOGS/$1.log
	[[ -f $f ]] || return 0
	printf -- '--- last lines of %s ---\n' "$f" >&2
	tail -n 25 "$f" >&2 || true
}

# is_process PID WORD: PID is alive and WORD is in its command line (a pid
# file kept across a machine restart may name some other process by now).
is_process() {
	[[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
	local cmdline
	cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"$2"* ]]
}

pid_of() { # NAME -> prints the recorded pid if that daemon is alive
	local f=$PIDS/$1.pid pid word
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	case $1 in
	registry-*) word=docker-registry ;;
	*) word=$1 ;;
	esac
	if is_process "$pid" "$word"; then
		printf '%s\n' "$pid"
		return 0
	fi
	rm -f "$f"
	return 1
}

# start_daemon NAME CMD...: run CMD detached (own session, no stdin), log to
# $LOGS/NAME.log, record its pid.
start_daemon() {
	local name=$1
	shift
	mkdir -p "$PIDS" "$LOGS"
	printf '\n=== %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOGS/$name.log"
	# Without job control a background job is not a process-group leader, so
	# setsid execs in place and $! is the daemon's own pid.
	# fd 9 is scripts/testenv's state-dir lock: the daemon must not keep
	# holding it.
	setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
	printf '%s\n' "$!" >"$PIDS/$name.pid"
}

# wait_for NAME CHECK-FUNCTION: poll until CHECK succeeds, the daemon dies or
# WAIT_SECONDS pass; fail with the log tail.
wait_for() {
	local name=$1 check=$2 deadline=$((SECONDS + WAIT_SECONDS))
	local pid
	pid=$(<"$PIDS/$name.pid")
	while ! "$check"; do
		# Only liveness here: until the fork has exec'd the daemon, its
		# command line is still this script's, which pid_of would reject.
		if ! kill -0 "$pid" 2>/dev/null; then
			tail_log "$name"
			die "$name exited during start-up; see $LOGS/$name.log"
		fi
		if ((SECONDS >= deadline)); then
			tail_log "$name"
			die "$name did not answer within ${WAIT_SECONDS}s; see $LOGS/$name.log (raise IMAGE_PIPELINE_WAIT_SECONDS if the machine is slow)"
		fi
		sleep 0.3
	done
}

stop_daemon() { # NAME: TERM, then KILL after 30s
	local name=$1 pid i
	pid=$(pid_of "$name") || { rm -f "$PIDS/$name.pid"; return 0; }
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.3
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name did not stop after 30s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDS/$name.pid"
}
