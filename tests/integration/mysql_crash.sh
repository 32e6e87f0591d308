#!/usr/bin/env bash
# MariaDB and a runner killed with SIGKILL (scenarios in tests/lib-crash.sh).
# - Backups and restores killed at random points (seeded, KB_SEED=N to
#   replay) and while mariadb-dump / mariadb run: no file anywhere under the
#   workdir or /tmp holds the password (it reaches the tools as a memfile,
#   --defaults-extra-file=/proc/self/fd/N), and no child has it in its
#   command line or environment.
# - verify --restore killed while restoring and while counting: the next
#   verify --restore, or check, drops the scratch databases of this runner's
#   runs that are gone and says so, and leaves alone one whose run goes on,
#   one of another runner id and one of a name it does not know; random
#   kills leave nothing after the next run either.
# - A restore that fails (a corrupt backup, a killed client) drops the
#   database it created; an existing target stays.
# - A mariadb-dump killed under the runner: exit 1, nothing of the backup
#   left in the location (not even its directory).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-crash.sh"

mariadb_start my
my_q <<'SQL'
CREATE DATABASE shop;
USE shop;
CREATE TABLE shop.orders (id INT PRIMARY KEY, note TEXT, total DECIMAL(12,2));
INSERT INTO shop.orders SELECT seq, REPEAT('n', seq % 90), seq * 1.5 FROM seq_1_to_60000;
CREATE TABLE shop.kv (k INT PRIMARY KEY, v VARBINARY(100));
INSERT INTO shop.kv SELECT seq, UNHEX(MD5(seq)) FROM seq_1_to_3000;
SQL
export KB_TEST_MYSQL_PW=$MY_PASSWORD
CONF=$KB_TMP/kb.conf PAUSE_CONF=$KB_TMP/pause.conf
BACKUPS=$KB_TMP/backups/test/db/backups
SECRET=$MY_PASSWORD SECRET_FILES=
# The wrappers match arguments: --binary-mode is the restore, --raw the row
# count's first step (the scratch database is restored by then).
BACKUP_AT=--single-transaction RESTORE_AT=--binary-mode COUNT_AT=--raw
conf() {	# file [dump-command client-command]
	write_engine_config "$1" mysql <<EOF2
host = 127.0.0.1
port = $MY_PORT
user = kb
password_env = KB_TEST_MYSQL_PW
databases = shop
${2:+dump_command = $2}
${3:+client_command = $3}
EOF2
}
conf "$CONF"
pause_wrapper "$KB_TMP/wrap" mariadb-dump "$(command -v mariadb-dump)" args
pause_wrapper "$KB_TMP/wrap" mariadb "$(command -v mariadb)" args
conf "$PAUSE_CONF" "$KB_TMP/wrap/mariadb-dump" "$KB_TMP/wrap/mariadb"

sql_dbs() {	# prefix
	my_q -N -e "SELECT schema_name FROM information_schema.schemata
		WHERE schema_name LIKE '$1%' ORDER BY 1" | tr '\n' ' '
}
sql_exists() {
	[ "$(my_q -N -e "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '$1'")" = 1 ]
}
sql_create() { my_q -e "CREATE DATABASE \`$1\`"; }
sql_drop() { my_q -e "DROP DATABASE IF EXISTS \`$1\`"; }
sql_kept_make() { my_q -e "CREATE TABLE kept.mine (x INT); INSERT INTO kept.mine VALUES (1)"; }
sql_kept_rows() { my_q -N -e 'SELECT COUNT(*) FROM kept.mine'; }

say "a backup and a restore, watching every child's command line and environment"
watch_cmdlines mariadb-dump mariadb
run_runner -c "$CONF" --once
expect_rc 0 "backup"
run_runner -c "$CONF" restore latest --database shop_copy
expect_rc 0 "restore"
stop_watch
assert_contains "$KB_TMP/cmdlines" "--defaults-extra-file=/proc/self/fd/" "the children get a memfile"
assert_not_contains "$KB_TMP/cmdlines" "$MY_PASSWORD" "password in a child's argv"
assert_not_contains "$KB_TMP/environs" "$MY_PASSWORD" "password in a child's environment"
assert_eq "$(my_q -N -e 'SELECT COUNT(*) FROM shop_copy.orders')" 60000 "restored through the memfile"
sql_drop shop_copy

crash_cases
secret_nowhere "at the end"
assert_not_contains "$KB_TMP/all.log" "$MY_PASSWORD" "password in the log"
echo ok
