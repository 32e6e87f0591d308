#!/usr/bin/env bash
# kbackup-runner run under Type=notify, as systemd sees it: a receiver bound
# to $NOTIFY_SOCKET (a Unix datagram socket, as systemd's) records what the
# daemon sends: READY=1 once it serves, STATUS= with the next backup and
# while one runs, RELOADING=1 with MONOTONIC_USEC then READY=1 on SIGHUP,
# STOPPING=1 on SIGTERM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
command -v python3 >/dev/null || skip "python3 not installed"
DB=$KB_TMP/app.db
sqlite3 "$DB" "CREATE TABLE t (a); INSERT INTO t VALUES (1);"
write_engine_config "$KB_TMP/kb.conf" sqlite <<EOF
path = $DB
EOF
sed -i 's/^engine = sqlite/engine = sqlite\nschedule = @every 2s/' "$KB_TMP/kb.conf"

# One line per datagram, newlines inside a datagram shown as '|'.
python3 - "$KB_TMP/notify" "$KB_TMP/datagrams" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
at_exit "kill $!"
for _ in $(seq 1 40); do [ -S "$KB_TMP/notify" ] && break; sleep 0.1; done
[ -S "$KB_TMP/notify" ] || fail "the notify receiver did not start"

got() {	# pattern what: waits up to 10 s for a datagram matching pattern
	for _ in $(seq 1 40); do
		grep -qE -- "$1" "$KB_TMP/datagrams" && return 0
		sleep 0.25
	done
	fail "$2: no datagram matching '$1' in: $(cat "$KB_TMP/datagrams")"
}

say "READY=1 and STATUS= with the next backup"
: >"$KB_TMP/daemon.log"
NOTIFY_SOCKET=$KB_TMP/notify "$RUNNER" -c "$KB_TMP/kb.conf" run 2>"$KB_TMP/daemon.log" &
DPID=$!
at_exit "kill -9 $DPID"
got '^READY=1$' "ready"
got '^STATUS=next backup [0-9]{4}-' "status"
got '^STATUS=running backup [0-9]{8}T[0-9]{6}Z$' "status while a backup runs"

say "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 again"
: >"$KB_TMP/datagrams"
kill -HUP $DPID
got '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' "reloading"
got '^READY=1$' "ready after the reload"
assert_contains "$KB_TMP/daemon.log" "configuration reloaded" "reload logged"

say "SIGTERM: STOPPING=1 and exit 0"
kill -TERM $DPID
got '^STOPPING=1$' "stopping"
set +e
wait $DPID
rc=$?
set -e
expect_rc 0 "daemon after SIGTERM"
echo ok
