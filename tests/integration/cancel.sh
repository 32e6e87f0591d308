#!/usr/bin/env bash
# One cancel mechanism: SIGINT or SIGTERM ends any command promptly, even
# while it waits on a store that never answers (a TCP listener that accepts
# and stays silent): list, prune, check and verify --all from the command
# line, and the daemon during a triggered backup and a triggered restore.
# Each exits with status 1 (the daemon 0) and leaves nothing half-done: no
# lock held, no marker or temporary written.
. "$(dirname "$0")/../lib.sh"

SILENT_PORT=$(free_port)
# While $KB_TMP/silent exists, a connection is accepted and never answered;
# without it, an empty bucket answers (so that a daemon can start).
touch "$KB_TMP/silent"
python3 - "$SILENT_PORT" "$KB_TMP/silent" >"$KB_TMP/silent.log" 2>&1 <<'PY' &
import os, socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
EMPTY = (b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'
	 b'<IsTruncated>false</IsTruncated></ListBucketResult>')
MISSING = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>'
def answer(c):
	f = c.makefile("rb")
	while True:
		line = f.readline()
		if not line:
			return
		method, target = line.split()[:2]
		length = 0
		while (h := f.readline()) not in (b"\r\n", b""):
			if h.lower().startswith(b"content-length:"):
				length = int(h.split(b":")[1])
		f.read(length)
		if os.path.exists(sys.argv[2]):
			return		# silent from now on, on this connection too
		listing = method == b"GET" and b"list-type=2" in target
		body = EMPTY if listing else b"" if method == b"HEAD" else MISSING
		status = b"200 OK" if listing else b"404 Not Found"
		c.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/xml\r\n"
			  b"Content-Length: %d\r\n\r\n" % len(body) + (b"" if method == b"HEAD" else body))
while True:
	c, _ = s.accept()
	held.append(c)		# silent: read nothing, answer nothing
	if not os.path.exists(sys.argv[2]):
		threading.Thread(target=answer, args=(c,), daemon=True).start()
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

# ends_after PID WHAT SIGNAL: PID, just sent SIGNAL, ends within 2 s (or is
# killed, and the test fails).
ends_after() {
	local pid=$1 what=$2 sig=$3 i
	for i in $(seq 1 20); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		fail "$what: still running 2 s after SIG$sig"
	fi
}

# stops WHAT SIGNAL STATUS args...: the runner, signalled after a second, ends
# within two more with STATUS.
stops() {
	local what=$1 sig=$2 want=$3 pid
	shift 3
	"$RUNNER" "$@" >"$KB_TMP/out" 2>"$KB_TMP/log" &
	pid=$!
	sleep 1
	kill -0 "$pid" 2>/dev/null || fail "$what: ended before the signal: $(tail -3 "$KB_TMP/log")"
	kill "-$sig" "$pid"
	ends_after "$pid" "$what" "$sig"
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
	rm -f "$KB_TMP/silent"	# the daemon's first count of the backups gets answers
	"$RUNNER" -c "$KB_TMP/kb.conf" run >/dev/null 2>"$KB_TMP/daemon.log" &
	DPID=$!
	wait_for_text "$KB_TMP/daemon.log" 'msg="daemon started"' 50 0.1
	grep -q 'msg="daemon started"' "$KB_TMP/daemon.log" ||
		fail "the daemon did not start: $(cat "$KB_TMP/daemon.log")"
	touch "$KB_TMP/silent"	# its job's requests do not
	# shellcheck disable=SC2086
	"$RUNNER" -c "$KB_TMP/kb.conf" trigger $job >"$KB_TMP/t.out" 2>&1 &
	TPID=$!
	sleep 1
	kill -INT "$DPID"
	ends_after "$DPID" "daemon during $job" INT
	set +e
	wait "$DPID"
	rc=$?
	wait "$TPID"
	trc=$?
	set -e
	expect_rc 0 "the daemon stopped during $job"
	[ "$trc" != 0 ] || fail "trigger $job reported success: $(cat "$KB_TMP/t.out")"
	assert_contains "$KB_TMP/daemon.log" 'control: job triggered' "the $job was started"
	assert_contains "$KB_TMP/daemon.log" "cancelled" "daemon during $job says why"
	[ ! -e "$KB_TMP/work/test.orders/control.sock" ] || fail "control socket left"
	echo "ok: daemon during $job"
done
assert_workdir_clean "$KB_TMP/work" "after the daemon"
echo ok
