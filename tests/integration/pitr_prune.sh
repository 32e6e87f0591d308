#!/usr/bin/env bash
# Retention of physical backups and their WAL over seven simulated days
# (libfaketime moves the runner's clock; PostgreSQL's is real): one base
# backup a day kept three days, WAL archived by wal-push in between.  After
# every backup and its prune: WAL older than the oldest retained backup's
# first segment is gone, everything from there to the newest segment is
# there (verify: no gap, every retained backup restorable), prune --dry-run
# deletes nothing.  At the end the oldest retained backup, restored to the
# newest LSN, holds every row of every day: its window reaches the end.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-pitr.sh"

faketime_setup

conf=$KB_TMP/kb.conf
store=$KB_TMP/backups
wal=$store/test/orders/wal/00000001
pitr_pg_conf "$PITR_RUNNER -c $conf wal-push %p"
pg_start
write_pitr_config "$conf" "$store"
retention_only "$conf" daily 3d
pitr_own "$store"
pitr_table

segments() { ls "$wal" | grep -E '^[0-9A-F]{24}$' | sort; }
# The first segment of the oldest backup kept, from its manifest.
oldest_first() {
	local m
	m=$(ls "$store"/test/orders/backups/*/manifest.json | sort | head -1)
	sed -n 's/.*"first_segment": "\([0-9A-F]*\)".*/\1/p' "$m"
}

row=0
for day in 01 02 03 04 05 06 07; do
	say "day $day"
	psql_q postgres "INSERT INTO ticks SELECT g FROM generate_series($row + 1, $row + 50) g"
	row=$((row + 50))
	pitr_switch_and_wait >/dev/null
	pitr_run_at "2026-12-$day 03:00:00" -c "$conf" --once
	expect_rc 0 "backup of day $day"
	[ "$day" = 01 ] && day1_first=$(oldest_first)
	kept=$(ls "$store/test/orders/backups" | wc -l)
	first=$(oldest_first)
	older=$(segments | awk -v f="$first" '$0 < f' | wc -l)
	echo "backups kept: $kept; oldest starts at $first; segments before it: $older"
	[ "$kept" -le 4 ] || fail "day $day: $kept backups kept with daily = 3d"
	[ "$older" = 0 ] || fail "day $day: $older segments older than the oldest backup kept"
	pitr_run_at "2026-12-$day 03:30:00" -c "$conf" verify
	expect_rc 0 "verify on day $day"
	assert_not_contains "$KB_TMP/out" "cannot be restored" "day $day: every backup restorable"
	assert_not_contains "$KB_TMP/out" "gap" "day $day: no gap"
done
[ "$(ls "$store/test/orders/backups" | wc -l)" -lt 7 ] || fail "nothing was pruned"
[ ! -e "$wal/$day1_first" ] || fail "the first day's WAL ($day1_first) was kept"
assert_contains "$KB_TMP/all.log" "pruned WAL no base backup kept needs" "WAL pruned"

say "prune --dry-run deletes nothing"
before=$(find "$store" -type f | sort | sha256sum)
pitr_run_at "2026-12-12 03:00:00" -c "$conf" prune --dry-run
expect_rc 0 "prune --dry-run"
assert_contains "$KB_TMP/out" "would delete" "dry run plans"
assert_eq "$(find "$store" -type f | sort | sha256sum)" "$before" "storage after --dry-run"

say "the oldest backup kept, restored to the newest LSN: every row"
psql_q postgres "INSERT INTO ticks SELECT g FROM generate_series($row + 1, $row + 50) g"
row=$((row + 50))
lsn=$(psql_q postgres "SELECT pg_current_wal_lsn()")
pitr_switch_and_wait >/dev/null
oldest=$(ls "$store/test/orders/backups" | sort | head -1)
pitr_own "$KB_TMP"
pitr_run_at "2026-12-07 04:00:00" -c "$conf" restore "$oldest" --lsn "$lsn" --data-dir "$KB_TMP/restored"
expect_rc 0 "restore $oldest --lsn $lsn"
got=$(pitr_restored_rows "$KB_TMP/restored")
assert_eq "$got" "$(seq -s, 1 $row)" "rows of the oldest backup kept, recovered to $lsn"
echo "ok"
