#!/usr/bin/env bash
# PostgreSQL and a runner killed with SIGKILL (scenarios in tests/lib-crash.sh).
# - Backups and restores killed at random points (seeded, KB_SEED=N to
#   replay) and while pg_dump / pg_restore run: no file anywhere under the
#   workdir or /tmp holds the password (it reaches libpq as a memfile,
#   PGPASSFILE=/proc/self/fd/N), and no child has it in its command line or
#   environment.
# - verify --restore killed while restoring and while counting: the next
#   verify --restore, or check, drops the scratch databases of this runner's
#   runs that are gone, says so, and leaves alone one whose run goes on, one
#   of another runner id and one of a name it does not know; random kills
#   leave nothing after the next run either.
# - A restore that fails (a corrupt backup, a killed pg_restore) drops the
#   database it created; an existing target is left as it was.
# - A pg_dump killed under the runner: exit 1, nothing of the backup left
#   in the location (not even its directory).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-crash.sh"

pg_start
pg_load_sample shop 20000
CONF=$KB_TMP/kb.conf PAUSE_CONF=$KB_TMP/pause.conf
BACKUPS=$KB_TMP/backups/test/orders/backups
SECRET=$PG_PASSWORD SECRET_FILES=$KB_TMP/pgpw
BACKUP_AT=--format=custom RESTORE_AT=--single-transaction
COUNT_AT="%L, count(*)"	# the row count, not the existence check's count(*)
write_pg_config "$CONF" shop
# The same runner with pause_wrapper tools (bin_dir), for kills at set points.
for t in psql pg_dump pg_restore; do
	mode=; [ "$t" = psql ] || mode=args
	pause_wrapper "$KB_TMP/wrap" "$t" "$PG_BIN/$t" $mode
done
write_pg_config "$PAUSE_CONF" shop
sed -i "s|^database = shop|database = shop\nbin_dir = $KB_TMP/wrap|" "$PAUSE_CONF"

sql_dbs() {	# prefix
	psql_q postgres "SELECT datname FROM pg_database WHERE datname LIKE '$1%' ORDER BY 1" |
		tr '\n' ' '
}
sql_exists() { [ "$(psql_q postgres "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }
sql_create() { psql_q postgres "CREATE DATABASE \"$1\""; }
sql_drop() { psql_q postgres "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"; }
sql_kept_make() { psql_q kept "CREATE TABLE mine (x int); INSERT INTO mine VALUES (1), (2)"; }
sql_kept_rows() { psql_q kept "SELECT count(*) FROM mine"; }

say "a backup and a restore, watching every child's command line and environment"
watch_cmdlines pg_dump pg_restore psql
run_runner -c "$CONF" --once
expect_rc 0 "backup"
run_runner -c "$CONF" restore latest --database shop_copy
expect_rc 0 "restore"
stop_watch
assert_contains "$KB_TMP/environs" "PGPASSFILE=/proc/self/fd/" "the children get a memfile"
assert_not_contains "$KB_TMP/cmdlines" "$PG_PASSWORD" "password in a child's argv"
assert_not_contains "$KB_TMP/environs" "$PG_PASSWORD" "password in a child's environment"
assert_not_contains "$KB_TMP/all.log" "group or world access" "libpq refused the memfile"
sql_drop shop_copy

crash_cases
secret_nowhere "at the end"
assert_not_contains "$KB_TMP/all.log" "$PG_PASSWORD" "password in the log"
echo ok
