#!/usr/bin/env bash
# Point-in-time recovery with wal_method = stream, on a real PostgreSQL with
# archiving off: the daemon streams WAL with a replication slot it creates;
# a base backup triggered while a workload commits a row every ~100 ms;
# the daemon SIGKILLed while WAL flows and started again (the slot kept on
# the server what the archive lacked: the chain is complete); restore --at
# T into a new data directory: exactly the rows committed by T; the WAL
# metrics on /metrics.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-pitr.sh"

conf=$KB_TMP/kb.conf
store=$KB_TMP/backups
wal=$store/test/orders/wal/00000001
pitr_pg_conf
pg_start
write_pitr_config "$conf" "$store" stream
mport=$(free_port)
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$mport" >>"$conf"
pitr_own "$store"
pitr_table

daemon_start() {
	if [ "$PG_AS" = "$(id -un)" ]; then
		env -u PGPASSWORD "$PITR_RUNNER" -c "$conf" run >>"$KB_TMP/daemon.log" 2>&1 &
	else
		runuser -u "$PG_AS" -- env -u PGPASSWORD "$PITR_RUNNER" -c "$conf" run \
			>>"$KB_TMP/daemon.log" 2>&1 &
	fi
	DAEMON=$!
	at_exit "kill $DAEMON"
	for _ in $(seq 1 100); do
		grep -q 'msg="streaming WAL"' "$KB_TMP/daemon.log" && return 0
		sleep 0.1
	done
	fail "the daemon is not streaming: $(tail -5 "$KB_TMP/daemon.log")"
}
# The runner itself (runuser's child when the test runs as root).
daemon_pid() {
	local p
	p=$(ps -o pid= --ppid "$DAEMON" | tr -d ' ' | head -1)
	echo "${p:-$DAEMON}"
}
# Switches segments and waits until the archive holds the completed one.
switch_archived() {
	local seg i
	seg=$(psql_q postgres "SELECT pg_walfile_name(pg_switch_wal())")
	for ((i = 0; i < 300; i++)); do
		[ -f "$wal/$seg" ] && { echo "$seg"; return 0; }
		sleep 0.1
	done
	fail "segment $seg not streamed into the archive: $(tail -5 "$KB_TMP/daemon.log")"
}

say "the daemon streams with a slot of its own"
daemon_start
assert_eq "$(psql_q postgres "SELECT count(*) FROM pg_replication_slots
	WHERE slot_name = 'kbackup_test_orders' AND slot_type = 'physical'")" 1 "the slot"

say "a base backup triggered while the workload commits"
pitr_workload_start 1 90
sleep 1
run_pitr -c "$conf" trigger backup
expect_rc 0 "triggered physical backup"
assert_contains "$KB_TMP/daemon.log" "the WAL the backup needs is archived" "backup waited for its WAL"

say "the daemon SIGKILLed while WAL flows, then started again"
sleep 1
kill -9 "$(daemon_pid)"
wait "$DAEMON" 2>/dev/null || true
killed_at=$(psql_q postgres "SELECT max(i) FROM ticks")
switch_archived_while_down=$(psql_q postgres "SELECT pg_walfile_name(pg_switch_wal())")
pitr_workload_wait
daemon_start
seg=$(switch_archived)
[ -f "$wal/$switch_archived_while_down" ] ||
	fail "segment $switch_archived_while_down, completed while the daemon was down, not archived"
echo "killed after row $killed_at; archived through $seg"
run_pitr -c "$conf" verify
expect_rc 0 "verify after the kill"
assert_contains "$KB_TMP/out" "WAL timeline 1: any time from" "the window"

say "restore --at a second after the kill"
t=$(pitr_pick_time "$killed_at")
[ -n "$t" ] || t=$(pitr_pick_time 30)
pitr_restore_check "$conf" "$t" "$KB_TMP/restored"

say "the store's mount gone, then back: nothing written where it was, no gap"
mv "$store" "$store.away"
mkdir "$store" && pitr_own "$store"
psql_q postgres "INSERT INTO ticks VALUES (5000)"
seg2=$(psql_q postgres "SELECT pg_walfile_name(pg_switch_wal())")
for ((i = 0; i < 100; i++)); do
	grep -q "is gone (no archive.json, which was there)" "$KB_TMP/daemon.log" && break
	sleep 0.1
done
[ "$i" -lt 100 ] || fail "streaming of $seg2 did not fail with the store gone"
[ -z "$(ls -A "$store")" ] || fail "the daemon wrote where the store was: $(find "$store")"
pitr_store_back "$store" "$wal/$seg2"
run_pitr -c "$conf" verify
expect_rc 0 "verify after the store came back"

say "the WAL metrics"
curl -sf "http://127.0.0.1:$mport/metrics" >"$KB_TMP/metrics" || fail "no /metrics"
grep -E '^kbackup_wal_archived_total\{.*\} [1-9][0-9]*$' "$KB_TMP/metrics" >/dev/null ||
	fail "archived segments not counted: $(grep wal "$KB_TMP/metrics")"
grep -E '^kbackup_wal_last_archived_timestamp_seconds\{.*\} [1-9][0-9]+$' \
	"$KB_TMP/metrics" >/dev/null || fail "no last archived time"
grep -q '^kbackup_wal_archive_lag_seconds{' "$KB_TMP/metrics" || fail "no archive lag"
kill "$(daemon_pid)"
wait "$DAEMON" 2>/dev/null || true
assert_contains "$KB_TMP/daemon.log" 'msg=stopping' "the daemon stopped on SIGTERM"
echo "ok"
