#!/usr/bin/env bash
# Point-in-time recovery across a timeline switch: restore --at T1 (given
# with a timezone offset), start the restored server with the same
# archive_command, so that it promotes to timeline 2 and archives its history
# file and WAL; commit there, then restore --at T2 on the new timeline: the
# rows of timeline 1 up to T1 and those of timeline 2 up to T2; restore
# latest: the end of timeline 2.  Targets outside the window, with offsets.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-pitr.sh"

conf=$KB_TMP/kb.conf
store=$KB_TMP/backups
pitr_pg_conf "$PITR_RUNNER -c $conf wal-push %p"
pg_start
write_pitr_config "$conf" "$store"
pitr_own "$store"
pitr_table

say "a base backup, commits on timeline 1"
run_pitr -c "$conf" --once
expect_rc 0 "physical backup"
pitr_workload_start 1 40
pitr_workload_wait
pitr_switch_and_wait >/dev/null
t1=$(pitr_pick_time 10)
[ -n "$t1" ] || fail "no time to restore to"
want1=$(pitr_rows_at "$t1")
# The same instant, two hours east of UTC.
t1tz=$(TZ=Etc/GMT-2 date -d "$t1" +%Y-%m-%dT%H:%M:%S+02:00)

say "restore --at $t1tz, the restored server promotes and archives"
pitr_own "$KB_TMP"
run_pitr -c "$conf" restore --at "$t1tz" --data-dir "$KB_TMP/r1"
expect_rc 0 "restore --at $t1tz"
sock=$KB_TMP/sock-r1
mkdir -p "$sock"
pitr_own "$sock" "$KB_TMP/r1"
port=$(free_port)
as_pg "$PG_BIN/pg_ctl" -D "$KB_TMP/r1" -l "$KB_TMP/r1.log" -w -t 120 \
	-o "-k $sock -p $port -c listen_addresses=''" start >/dev/null ||
	fail "the restored server did not start: $(tail -5 "$KB_TMP/r1.log")"
at_exit "as_pg $PG_BIN/pg_ctl -D $KB_TMP/r1 -m immediate stop"
r1() { PGHOST=$sock PGPORT=$port "$@"; }
for ((i = 0; i < 600; i++)); do
	[ "$(r1 psql_q postgres 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && break
	sleep 0.1
done
[ "$i" -lt 600 ] || fail "the restored server is still recovering: $(tail -5 "$KB_TMP/r1.log")"
assert_eq "$(r1 psql_q postgres "SELECT string_agg(i::text, ',' ORDER BY i) FROM ticks")" \
	"$want1" "rows restored to $t1tz"
assert_eq "$(r1 psql_q postgres "SELECT timeline_id FROM pg_control_checkpoint()")" 2 \
	"the restored server's timeline"

say "commits on the new timeline, archived"
for ((i = 2001; i <= 2030; i++)); do
	r1 psql_q postgres "INSERT INTO ticks VALUES ($i)"
	sleep 0.1
done
r1 pitr_switch_and_wait >/dev/null
t2=$(r1 pitr_pick_time 2001)
[ -n "$t2" ] || fail "no time on the new timeline"
want2=$(r1 pitr_rows_at "$t2")
run_pitr -c "$conf" list
assert_contains "$KB_TMP/out" "WAL timeline 2: any time from" "list shows timeline 2"

say "restore --at $t2 on the new timeline"
r1 pitr_restore_check "$conf" "$t2" "$KB_TMP/r2"

say "restore latest: the end of the newest timeline"
run_pitr -c "$conf" restore latest --data-dir "$KB_TMP/r3"
expect_rc 0 "restore latest"
got=$(pitr_restored_rows "$KB_TMP/r3")
assert_eq "$got" "$(r1 psql_q postgres "SELECT string_agg(i::text, ',' ORDER BY i) FROM ticks")" \
	"rows of restore latest"

say "targets in the future and before the first backup: refused"
pitr_restore_refused "$conf" "$KB_TMP/future" "outside the recoverable window" \
	"restore --at the future" --at 2099-01-01T00:00:00+05:00
pitr_restore_refused "$conf" "$KB_TMP/past" "outside the recoverable window" \
	"restore --at before the first backup" --at 2001-01-01T00:00:00-08:00
echo ok
