#!/usr/bin/env bash
# WAL retention beside a damaged base backup: the oldest backup's manifest
# is cut in half, so nothing says which WAL it needs.  Prune keeps that
# backup (it is damaged, not expired) and must keep its WAL with it, saying
# why, however far the other backups' labels have moved on: a manifest
# repaired from a copy is restorable again.  prune --damaged deletes the
# backup, and then the WAL only it needed.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-pitr.sh"

faketime_setup

conf=$KB_TMP/kb.conf
store=$KB_TMP/backups
B=$store/test/orders/backups
wal=$store/test/orders/wal/00000001
pitr_pg_conf "$PITR_RUNNER -c $conf wal-push %p"
pg_start
write_pitr_config "$conf" "$store"
retention_only "$conf" daily 1d
pitr_own "$store"
pitr_table

first_of() { sed -n 's/.*"first_segment": "\([0-9A-F]*\)".*/\1/p' "$B/$1/manifest.json"; }
day() {	# DD
	psql_q postgres "INSERT INTO ticks SELECT g FROM generate_series($1 * 100, $1 * 100 + 49) g"
	pitr_switch_and_wait >/dev/null
	pitr_run_at "$(fake_day "$1") 03:00:00" -c "$conf" --once
	expect_rc 0 "backup of day $1"
	committed_id
}

old=$(day 1)
old_first=$(first_of "$old")
[ -n "$old_first" ] || fail "no first_segment in $old's manifest"
cp "$B/$old/manifest.json" "$KB_TMP/manifest.good"
head -c 200 "$KB_TMP/manifest.good" >"$B/$old/manifest.json"
day 2 >/dev/null
day 3 >/dev/null
day 4 >/dev/null
[ -f "$B/$old/data" ] || fail "prune deleted the damaged backup"
[ -e "$wal/$old_first" ] || fail "prune deleted the WAL of the damaged backup ($old_first)"
assert_contains "$KB_TMP/all.log" "damaged backup kept" "prune says it kept the backup"
assert_contains "$KB_TMP/all.log" "WAL kept" "prune says it kept the WAL"

say "the manifest repaired: the backup restores"
cp "$KB_TMP/manifest.good" "$B/$old/manifest.json"
pitr_own "$store"
pitr_run_at "$(fake_day 4) 04:00:00" -c "$conf" verify
expect_rc 0 "verify with the manifest repaired"
assert_not_contains "$KB_TMP/out" "cannot be restored" "every backup restorable"

say "prune --damaged: the backup and the WAL only it needed go"
head -c 200 "$KB_TMP/manifest.good" >"$B/$old/manifest.json"
pitr_run_at "$(fake_day 4) 05:00:00" -c "$conf" prune --damaged
expect_rc 0 "prune --damaged"
[ ! -e "$B/$old" ] || fail "prune --damaged kept the damaged backup"
[ ! -e "$wal/$old_first" ] || fail "prune --damaged kept the WAL only it needed"
echo ok
