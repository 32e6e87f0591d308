#!/usr/bin/env bash
# Two clusters given one definition (the same name, namespace and storage):
# the second one's wal-push is refused naming both system identifiers, and
# its base backup is not committed beside the first one's WAL, whose
# segments have the names it needs.  The first one's backups and restores
# go on.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-pitr.sh"

conf=$KB_TMP/kb.conf
store=$KB_TMP/backups
B=$store/test/orders/backups
pitr_pg_conf "$PITR_RUNNER -c $conf wal-push %p"
pg_start
write_pitr_config "$conf" "$store"
pitr_own "$store"
pitr_table
run_pitr -c "$conf" --once
expect_rc 0 "the first cluster's backup"
psql_q postgres "INSERT INTO ticks SELECT g FROM generate_series(1, 100) g"
for _ in 1 2 3 4; do pitr_switch_and_wait >/dev/null; done
first=$(ls "$B")

say "a second cluster, the same definition"
# Its archive_command succeeds without archiving (another definition's, say):
# its base backup then ends, and only the archive tells the clusters apart.
pitr_pg_conf /bin/true
pg_cluster_start pgb "$KB_TMP/pgpw"
sed "s/^port = .*/port = $CLUSTER_PORT/" "$conf" >"$KB_TMP/b.conf"
pitr_own "$KB_TMP/b.conf"
seg=$(PGPORT=$CLUSTER_PORT psql_q postgres "SELECT pg_walfile_name(pg_current_wal_lsn())")
cd "$KB_TMP/pgb/data"
run_pitr -c "$KB_TMP/b.conf" wal-push "pg_wal/$seg"
expect_rc 1 "wal-push of the second cluster"
assert_contains "$KB_TMP/log" "another cluster's; give it a definition of its own" \
	"wal-push names the other cluster"
cd "$KB_TMP"
run_pitr -c "$KB_TMP/b.conf" --once
expect_rc 1 "the second cluster's base backup"
assert_contains "$KB_TMP/log" "this server to system $(PGPORT=$CLUSTER_PORT psql_q postgres \
	"SELECT system_identifier FROM pg_control_system()")" "the backup names the other system"
assert_eq "$(ls "$B")" "$first" "the backups after the second cluster's"

say "the first cluster's archive is whole"
run_pitr -c "$conf" verify
expect_rc 0 "verify"
t=$(psql_q postgres "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
sleep 1.1
psql_q postgres "INSERT INTO ticks VALUES (1000)"
pitr_switch_and_wait >/dev/null
pitr_restore_check "$conf" "$t" "$KB_TMP/restored"
echo ok
