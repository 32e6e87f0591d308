#!/usr/bin/env bash
# MariaDB and a runner killed with SIGKILL.
# - Backups and restores killed at random points (seeded, KB_SEED=N to
#   replay) and while mariadb-dump / mariadb run: no file anywhere under the
#   workdir or /tmp holds the password (it reaches the tools as a memfile,
#   --defaults-extra-file=/proc/self/fd/N), and no child has it in its
#   command line or environment.
# - verify --restore killed while restoring and while counting: the next
#   verify --restore, or check, drops the scratch databases of this runner's
#   runs that are gone and says so; random kills leave nothing after the
#   next run either.
# - A restore that fails (a corrupt backup, a killed client) drops the
#   database it created; an existing target stays.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

KB_SEED=${KB_SEED:-$$}
RANDOM=$KB_SEED
echo "seed: KB_SEED=$KB_SEED"

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
conf "$KB_TMP/kb.conf"
# The same with pause_wrapper tools, for kills at set points (arguments matched:
# --binary-mode is the restore, --raw the row count's first step).
pause_wrapper "$KB_TMP/wrap" mariadb-dump "$(command -v mariadb-dump)" args
pause_wrapper "$KB_TMP/wrap" mariadb "$(command -v mariadb)" args
conf "$KB_TMP/pause.conf" "$KB_TMP/wrap/mariadb-dump" "$KB_TMP/wrap/mariadb"
backups=$KB_TMP/backups/test/db/backups

secret_nowhere() { assert_secret_nowhere "$MY_PASSWORD" "$1"; }
kill9_random() {	# what args...
	local what=$1
	shift
	run_runner_kill9_random "$@"
	secret_nowhere "$what"
}
dbs_like() {	# prefix
	my_q -N -e "SELECT schema_name FROM information_schema.schemata
		WHERE schema_name LIKE '$1%' ORDER BY 1" | tr '\n' ' '
}
exists_db() { [ "$(my_q -N -e "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '$1'")" = 1 ]; }

say "a backup and a restore, watching every child's command line and environment"
watch_cmdlines mariadb-dump mariadb
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_copy
expect_rc 0 "restore"
stop_watch
assert_contains "$KB_TMP/cmdlines" "--defaults-extra-file=/proc/self/fd/" "the children get a memfile"
assert_not_contains "$KB_TMP/cmdlines" "$MY_PASSWORD" "password in a child's argv"
assert_not_contains "$KB_TMP/environs" "$MY_PASSWORD" "password in a child's environment"
assert_eq "$(my_q -N -e 'SELECT COUNT(*) FROM shop_copy.orders')" 60000 "restored through the memfile"
my_q -e "DROP DATABASE shop_copy"

say "SIGKILL while mariadb-dump and mariadb run: no password on disk"
run_runner_kill9_at --single-transaction -c "$KB_TMP/pause.conf" --once
expect_rc 137 "killed backup"
secret_nowhere "killed while mariadb-dump runs"
run_runner_kill9_at --binary-mode -c "$KB_TMP/pause.conf" restore latest --database shop_copy
expect_rc 137 "killed restore"
secret_nowhere "killed while mariadb restores"

say "10 backups and 10 restores killed at random points"
for i in $(seq 1 10); do
	kill9_random "backup $i killed" -c "$KB_TMP/kb.conf" --once
	kill9_random "restore $i killed" -c "$KB_TMP/kb.conf" restore latest --database shop_copy
done
my_q -e "DROP DATABASE IF EXISTS shop_copy"

say "verify --restore killed while restoring and while counting; the next run drops both"
run_runner_until_paused --binary-mode -c "$KB_TMP/pause.conf" verify --restore latest
first=$KB_PAUSED_RUNNER first_wrapper=$(cat "$KB_TMP/paused")
run_runner_until_paused --raw -c "$KB_TMP/pause.conf" verify --restore latest
assert_contains "$KB_TMP/paused.log" "a scratch database in use by a running verify --restore" \
	"the second run leaves the running first one's database"
kill -9 "$first"
wait "$first" 2>/dev/null || true
kill "$first_wrapper"
kill9_paused_runner
left=$(dbs_like kbackup_verify_)
[ "$(echo $left | wc -w)" = 2 ] || fail "two killed runs should leave two: $left"
my_q -e "CREATE DATABASE kbackup_verify_0123456789ab_1_1"
run_runner -c "$KB_TMP/kb.conf" verify --restore latest
expect_rc 0 "verify --restore after two killed ones"
for db in $left; do
	assert_contains "$KB_TMP/log" "msg=\"dropped the scratch database a killed run left\" database=$db" \
		"$db dropped and said so"
done
assert_eq "$(dbs_like kbackup_verify_)" "kbackup_verify_0123456789ab_1_1 " "another runner's left alone"

say "check drops what a killed verify --restore left"
run_runner_kill9_at --raw -c "$KB_TMP/pause.conf" verify --restore latest
dead=$(dbs_like kbackup_verify_ | tr ' ' '\n' | grep -v -e '^$' -e _0123456789ab_)
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check"
assert_contains "$KB_TMP/out" "scratch: $dead: dropped, its run" "check drops it"
assert_contains "$KB_TMP/out" "scratch: kbackup_verify_0123456789ab_1_1: of runner 0123456789ab, left alone" \
	"check: another runner's"
exists_db "$dead" && fail "check left the dead one's database"
my_q -e "DROP DATABASE kbackup_verify_0123456789ab_1_1"

say "10 verify --restore runs killed at random points, then one more: nothing left"
for i in $(seq 1 10); do
	kill9_random "verify --restore $i killed" -c "$KB_TMP/kb.conf" verify --restore latest
done
run_runner -c "$KB_TMP/kb.conf" verify --restore latest
expect_rc 0 "verify --restore after random kills"
assert_eq "$(dbs_like kbackup_verify_)" "" "scratch databases after random kills"

say "a failed restore drops the database it created, and leaves an existing one"
id=$(basename "$(dirname "$(ls "$backups"/*/manifest.json | sort | tail -n 1)")")	# a complete one
data=$backups/$id/data
cp "$data" "$KB_TMP/data.orig"
flip_bit "$data" "$(($(stat -c %s "$data") / 2))"
run_runner -c "$KB_TMP/kb.conf" restore "$id" --database fresh
expect_rc 1 "restore of a corrupt backup into a new database"
assert_contains "$KB_TMP/log" 'msg="dropped the database the failed restore had created" database=fresh' "drop logged"
exists_db fresh && fail "the failed restore left the database it created"
my_q -e "CREATE DATABASE kept; CREATE TABLE kept.mine (x INT); INSERT INTO kept.mine VALUES (1)"
run_runner -c "$KB_TMP/kb.conf" restore "$id" --database kept
expect_rc 1 "restore of a corrupt backup into an existing database"
assert_not_contains "$KB_TMP/log" "dropped the database" "an existing database dropped"
assert_eq "$(my_q -N -e 'SELECT COUNT(*) FROM kept.mine')" 1 "the existing database's own table"
cp "$KB_TMP/data.orig" "$data"
run_runner_until_paused --binary-mode -c "$KB_TMP/pause.conf" restore "$id" --database fresh2
kill -9 "$(cat "$KB_TMP/paused")"	# the client, not the runner
set +e; wait "$KB_PAUSED_RUNNER"; rc=$?; set -e
cp "$KB_TMP/paused.log" "$KB_TMP/log"
expect_rc 1 "restore whose client was killed"
assert_contains "$KB_TMP/log" 'msg="dropped the database the failed restore had created" database=fresh2' "drop logged"
exists_db fresh2 && fail "a killed client left the database the restore created"
secret_nowhere "at the end"
assert_not_contains "$KB_TMP/all.log" "$MY_PASSWORD" "password in the log"
echo ok
