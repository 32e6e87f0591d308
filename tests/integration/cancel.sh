#!/usr/bin/env bash
# One cancel mechanism: SIGINT or SIGTERM ends any command promptly, even
# while it waits on a store that never answers (a TCP listener that accepts
# and stays silent): list, prune, check and verify --all from the command
# line, and the daemon during a triggered backup and a triggered restore.
# Each exits with status 1 (the daemon 0) and leaves nothing half-done: no
# lock held, no marker or temporary written.
. "$(dirname "$0")/../lib.sh"

SILENT_PORT=$(free_port)
python3 - "$SILENT_PORT" >"$KB_TMP/silent.log" 2>&1 <<'PY' &
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)		# read nothing, answer nothing
PY
SILENT=$!
at_exit "kill $SILENT"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SILENT_PORT") 2>/dev/null && break; sleep 0.1; done

cat >"$KB_TMP/kb.conf" <<EOF
[backup]
name = orders
namespace = test
engine = sqlite
schedule = @daily
workdir = $KB_TMP/work

[sqlite]
path = $KB_TMP/app.db

[storage]
type = s3
endpoint = http://127.0.0.1:$SILENT_PORT
bucket = silent
path_style = true
access_key = AKIDEXAMPLE
secret_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
EOF
sqlite3 "$KB_TMP/app.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1)"

# stops WHAT SIGNAL STATUS args...: the runner, signalled after a second, ends
# within two more with STATUS.
stops() {
	local what=$1 sig=$2 want=$3 pid i
	shift 3
	"$RUNNER" "$@" >"$KB_TMP/out" 2>"$KB_TMP/log" &
	pid=$!
	sleep 1
	kill -0 "$pid" 2>/dev/null || fail "$what: ended before the signal: $(tail -3 "$KB_TMP/log")"
	kill "-$sig" "$pid"
	for i in $(seq 1 20); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		fail "$what: still running 2 s after SIG$sig"
	fi
	set +e
	wait "$pid"
	rc=$?
	set -e
	expect_rc "$want" "$what"
	echo "ok: $what"
}

for c in "list" "prune" "check" "verify --all" "restore latest" "--once"; do
	# shellcheck disable=SC2086
	stops "SIGINT during $c" INT 1 -c "$KB_TMP/kb.conf" $c
	# check reports on stdout, the others log on stderr
	cat "$KB_TMP/out" "$KB_TMP/log" >"$KB_TMP/said"
	assert_contains "$KB_TMP/said" "cancelled" "$c says why it stopped"
done
stops "SIGTERM during --once" TERM 1 -c "$KB_TMP/kb.conf" --once
# The lock is free again: a second runner takes it at once.
stops "SIGINT during prune, after the others" INT 1 -c "$KB_TMP/kb.conf" prune
assert_not_contains "$KB_TMP/log" "another kbackup-runner" "a lock was left held"
assert_workdir_clean "$KB_TMP/work" "after the cancelled commands"

say "the daemon, during a triggered backup and a triggered restore"
for job in backup "restore latest"; do
	: >"$KB_TMP/daemon.log"
	"$RUNNER" -c "$KB_TMP/kb.conf" run >/dev/null 2>"$KB_TMP/daemon.log" &
	DPID=$!
	for _ in $(seq 1 50); do
		grep -q 'msg="daemon started"' "$KB_TMP/daemon.log" && break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	"$RUNNER" -c "$KB_TMP/kb.conf" trigger $job >"$KB_TMP/t.out" 2>&1 &
	TPID=$!
	sleep 1
	kill -INT "$DPID"
	for _ in $(seq 1 20); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DPID" 2>/dev/null; then
		kill -9 "$DPID"
		fail "daemon during $job: still running 2 s after SIGINT"
	fi
	set +e
	wait "$DPID"
	rc=$?
	wait "$TPID"
	trc=$?
	set -e
	expect_rc 0 "the daemon stopped during $job"
	[ "$trc" != 0 ] || fail "trigger $job reported success: $(cat "$KB_TMP/t.out")"
	assert_contains "$KB_TMP/daemon.log" "cancelled" "daemon during $job says why"
	[ ! -e "$KB_TMP/work/test.orders/control.sock" ] || fail "control socket left"
	echo "ok: daemon during $job"
done
assert_workdir_clean "$KB_TMP/work" "after the daemon"
echo ok
