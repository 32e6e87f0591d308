#!/usr/bin/env bash
# SIGTERM during a backup: the daemon (and --once) stops promptly, pg_dump
# is killed, nothing is committed (no manifest, no temporary file left).
. "$(dirname "$0")/../lib.sh"

pg_start
psql_q postgres "CREATE DATABASE big"
say "loading a big table"
psql_q big "CREATE TABLE big AS SELECT i, md5(i::text) || md5((i + 1)::text) ||
	md5((i + 2)::text) || md5(random()::text) AS v FROM generate_series(1, 2000000) AS i"
write_pg_config "$KB_TMP/kb.conf" big
sed -i 's/^engine = postgres/engine = postgres\nschedule = @daily\ncompression = zstd:9/' "$KB_TMP/kb.conf"
BACKUPS=$KB_TMP/backups/test/orders

dump_running() {	# our pg_dump (by our server's port)
	pgrep -f "pg_dump.*--port=$PGPORT" >/dev/null
}
wait_for_dump() {
	for _ in $(seq 1 100); do dump_running && return 0; sleep 0.1; done
	fail "pg_dump never started"
}
nothing_committed() {	# what
	[ -z "$(find "$BACKUPS" -name manifest.json 2>/dev/null)" ] || fail "$1: a manifest was written"
	[ -z "$(find "$BACKUPS" -name '*.kbtmp.*' 2>/dev/null)" ] || fail "$1: temporary file left: $(find "$BACKUPS")"
	[ -z "$(find "$BACKUPS" -type f 2>/dev/null)" ] || fail "$1: files left: $(find "$BACKUPS" -type f)"
	for _ in $(seq 1 20); do dump_running || break; sleep 0.25; done
	! dump_running || fail "$1: pg_dump still running"
}
stops_within() {	# pid seconds what
	for _ in $(seq 1 $(($2 * 4))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.25; done
	fail "$3: still running $2 s after SIGTERM"
}

say "SIGTERM to the daemon during a triggered backup"
env -u PGPASSWORD "$RUNNER" -c "$KB_TMP/kb.conf" run >"$KB_TMP/daemon.out" 2>"$KB_TMP/daemon.log" &
DPID=$!
at_exit "kill -9 $DPID"
for _ in $(seq 1 40); do [ -S "$KB_TMP/work/test.orders/control.sock" ] && break; sleep 0.1; done
env -u PGPASSWORD "$RUNNER" -c "$KB_TMP/kb.conf" trigger backup >"$KB_TMP/t.out" 2>&1 &
TPID=$!
wait_for_dump
sleep 1
[ -n "$(find "$BACKUPS" -name '*.kbtmp.*')" ] || echo "note: no temporary file seen yet"
kill -TERM $DPID
stops_within $DPID 10 "daemon"
set +e; wait $DPID; drc=$?; wait $TPID; trc=$?; set -e
[ "$drc" = 0 ] || fail "daemon exit status after SIGTERM: $drc; log: $(tail -n 8 "$KB_TMP/daemon.log")"
[ "$trc" != 0 ] || fail "trigger client: the cancelled job reported success"
assert_contains "$KB_TMP/daemon.log" "cancelled" "the job says it was cancelled"
nothing_committed "daemon"

say "SIGTERM to --once during a backup"
env -u PGPASSWORD "$RUNNER" -c "$KB_TMP/kb.conf" --once >"$KB_TMP/once.out" 2>"$KB_TMP/once.log" &
OPID=$!
at_exit "kill -9 $OPID"
wait_for_dump
sleep 1
kill -TERM $OPID
stops_within $OPID 10 "--once"
set +e; wait $OPID; orc=$?; set -e
assert_eq "$orc" 1 "--once exit status after SIGTERM"
assert_contains "$KB_TMP/once.log" "cancelled" "--once says it was cancelled"
nothing_committed "--once"
echo ok
