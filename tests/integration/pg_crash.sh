#!/usr/bin/env bash
# PostgreSQL and a runner killed with SIGKILL.
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
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

KB_SEED=${KB_SEED:-$$}
RANDOM=$KB_SEED
echo "seed: KB_SEED=$KB_SEED"

pg_start
pg_load_sample shop 20000
write_pg_config "$KB_TMP/kb.conf" shop
backups=$KB_TMP/backups/test/orders/backups
# The same runner with pause_wrapper tools (bin_dir), for kills at set points.
for t in psql pg_dump pg_restore; do
	mode=; [ "$t" = psql ] || mode=args
	pause_wrapper "$KB_TMP/wrap" "$t" "$PG_BIN/$t" $mode
done
write_pg_config "$KB_TMP/pause.conf" shop
sed -i "s|^database = shop|database = shop\nbin_dir = $KB_TMP/wrap|" "$KB_TMP/pause.conf"

secret_nowhere() { assert_secret_nowhere "$PG_PASSWORD" "$1" "$KB_TMP/pgpw"; }
kill9_random() {	# what args...
	local what=$1
	shift
	run_runner_kill9_random "$@"
	secret_nowhere "$what"
}
dbs_like() {	# prefix
	psql_q postgres "SELECT datname FROM pg_database WHERE datname LIKE '$1%' ORDER BY 1" |
		tr '\n' ' '
}
exists_db() { [ "$(psql_q postgres "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }

say "a backup, watching every child's command line and environment"
watch_cmdlines pg_dump pg_restore psql
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_copy
expect_rc 0 "restore"
stop_watch
assert_contains "$KB_TMP/environs" "PGPASSFILE=/proc/self/fd/" "the children get a memfile"
assert_not_contains "$KB_TMP/cmdlines" "$PG_PASSWORD" "password in a child's argv"
assert_not_contains "$KB_TMP/environs" "$PG_PASSWORD" "password in a child's environment"
assert_not_contains "$KB_TMP/all.log" "group or world access" "libpq refused the memfile"
psql_q postgres "DROP DATABASE shop_copy"

say "SIGKILL while pg_dump and pg_restore run: no password on disk"
run_runner_kill9_at --format=custom -c "$KB_TMP/pause.conf" --once
expect_rc 137 "killed backup"
secret_nowhere "killed while pg_dump runs"
run_runner_kill9_at --single-transaction -c "$KB_TMP/pause.conf" restore latest \
	--database shop_copy
expect_rc 137 "killed restore"
secret_nowhere "killed while pg_restore runs"

say "10 backups and 10 restores killed at random points"
for i in $(seq 1 10); do
	kill9_random "backup $i killed" -c "$KB_TMP/kb.conf" --once
	kill9_random "restore $i killed" -c "$KB_TMP/kb.conf" restore latest --database shop_copy
done
psql_q postgres "DROP DATABASE IF EXISTS shop_copy WITH (FORCE)"

say "verify --restore killed while restoring and while counting"
# Every verify --restore drops what killed runs left before it starts: to
# leave two, the second starts while the first is still running.
count_at="%L, count(*)"	# the row count, not the existence check's count(*)
run_runner_until_paused --single-transaction -c "$KB_TMP/pause.conf" verify --restore latest
first=$KB_PAUSED_RUNNER first_wrapper=$(cat "$KB_TMP/paused")
run_runner_until_paused "$count_at" -c "$KB_TMP/pause.conf" verify --restore latest
assert_contains "$KB_TMP/paused.log" "a scratch database in use by a running verify --restore" \
	"the second run leaves the running first one's database"
kill -9 "$first"
wait "$first" 2>/dev/null || true
kill "$first_wrapper"
kill9_paused_runner
expect_rc 137 "killed while counting"
left=$(dbs_like kbackup_verify_)
[ "$(echo $left | wc -w)" = 2 ] || fail "two killed runs should leave two: $left"
# Not this runner's to drop: another runner id's, and a name of no run (an older version's).
psql_q postgres "CREATE DATABASE kbackup_verify_0123456789ab_1_1"
psql_q postgres "CREATE DATABASE kbackup_verify_4242_1700000000"
run_runner -c "$KB_TMP/kb.conf" verify --restore latest
expect_rc 0 "verify --restore after two killed ones"
for db in $left; do
	assert_contains "$KB_TMP/log" "msg=\"dropped the scratch database a killed run left\" database=$db" \
		"$db dropped and said so"
done
assert_contains "$KB_TMP/log" "database=kbackup_verify_0123456789ab_1_1 runner=0123456789ab" \
	"another runner's left alone and said so"
assert_contains "$KB_TMP/log" "database=kbackup_verify_4242_1700000000" "an unknown name said so"
assert_eq "$(dbs_like kbackup_verify_)" \
	"kbackup_verify_0123456789ab_1_1 kbackup_verify_4242_1700000000 " "what is left"

say "check drops a killed run's scratch database and leaves a running one's"
ours() { dbs_like kbackup_verify_ | tr ' ' '\n' | grep -v -e '^$' -e _0123456789ab_ -e _4242_ || true; }
run_runner_until_paused "$count_at" -c "$KB_TMP/pause.conf" verify --restore latest
first=$KB_PAUSED_RUNNER first_wrapper=$(cat "$KB_TMP/paused")
dead=$(ours)
run_runner_until_paused "$count_at" -c "$KB_TMP/pause.conf" verify --restore latest
running=$(ours | grep -v "^$dead\$")
kill -9 "$first"
wait "$first" 2>/dev/null || true
kill "$first_wrapper"
[ -n "$dead" ] && [ -n "$running" ] || fail "two scratch databases expected: $(ours)"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check"
assert_contains "$KB_TMP/out" "scratch: $dead: dropped, its run (process $first) is no longer running" \
	"check drops the dead one"
assert_contains "$KB_TMP/out" "scratch: $running: in use by process $KB_PAUSED_RUNNER, left alone" \
	"check leaves the running one"
assert_contains "$KB_TMP/out" "scratch: kbackup_verify_0123456789ab_1_1: of runner 0123456789ab, left alone" \
	"check: another runner's"
assert_contains "$KB_TMP/out" "scratch: kbackup_verify_4242_1700000000: of no run this runner knows" \
	"check: an unknown name"
exists_db "$running" || fail "check dropped a running verify's database"
exists_db "$dead" && fail "check left the dead one's database"
kill9_paused_runner
psql_q postgres "DROP DATABASE kbackup_verify_0123456789ab_1_1"
psql_q postgres "DROP DATABASE kbackup_verify_4242_1700000000"

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
psql_q postgres "CREATE DATABASE kept"
psql_q kept "CREATE TABLE mine (x int); INSERT INTO mine VALUES (1), (2)"
run_runner -c "$KB_TMP/kb.conf" restore "$id" --database kept
expect_rc 1 "restore of a corrupt backup into an existing database"
assert_not_contains "$KB_TMP/log" "dropped the database" "an existing database dropped"
assert_eq "$(psql_q kept "SELECT count(*) FROM mine")" 2 "the existing database as it was"
cp "$KB_TMP/data.orig" "$data"
# pg_restore killed under the runner (not the runner): the restore fails cleanly.
run_runner_until_paused --single-transaction -c "$KB_TMP/pause.conf" restore "$id" --database fresh2
kill -9 "$(cat "$KB_TMP/paused")"
set +e; wait "$KB_PAUSED_RUNNER"; rc=$?; set -e
cp "$KB_TMP/paused.log" "$KB_TMP/log"
expect_rc 1 "restore whose pg_restore was killed"
assert_contains "$KB_TMP/log" 'msg="dropped the database the failed restore had created" database=fresh2' "drop logged"
exists_db fresh2 && fail "a killed pg_restore left the database the restore created"
secret_nowhere "at the end"
assert_not_contains "$KB_TMP/all.log" "$PG_PASSWORD" "password in the log"
echo ok
