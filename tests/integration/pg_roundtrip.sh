#!/usr/bin/env bash
# PostgreSQL → kbackup-runner --once → a directory → restore into a new
# database: schema and every row equal.  Also: list, restore latest into the
# configured database after a table was dropped, the lock, and the password
# in neither pg_dump's /proc/PID/cmdline nor the log.
. "$(dirname "$0")/../lib.sh"

pg_start
pg_load_sample shop 2000
write_pg_config "$KB_TMP/kb.conf" shop

say "check"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check"
assert_contains "$KB_TMP/out" "database: ok" "check output"

say "backup, watching pg_dump's command line while it runs"
(
	while :; do
		for p in $(pgrep -x pg_dump 2>/dev/null); do
			tr '\0' ' ' </proc/$p/cmdline >>"$KB_TMP/cmdlines" 2>/dev/null || true
			tr '\0' '\n' </proc/$p/environ >>"$KB_TMP/environs" 2>/dev/null || true
		done
		sleep 0.01
	done
) &
watcher=$!
at_exit "kill $watcher"
run_runner -c "$KB_TMP/kb.conf" --once
kill $watcher 2>/dev/null || true
expect_rc 0 "backup"
assert_contains "$KB_TMP/log" 'msg="backup committed"' "backup log"
[ -s "$KB_TMP/cmdlines" ] || echo "note: pg_dump ran too briefly to be seen"
if [ -s "$KB_TMP/cmdlines" ]; then
	assert_contains "$KB_TMP/cmdlines" "--format=custom" "pg_dump seen"
	assert_not_contains "$KB_TMP/cmdlines" "$PG_PASSWORD" "password in pg_dump's argv"
	assert_not_contains "$KB_TMP/environs" "$PG_PASSWORD" "password in pg_dump's environment"
fi
assert_not_contains "$KB_TMP/all.log" "$PG_PASSWORD" "password in the log"
[ -z "$(find "$KB_TMP/work" -name 'pgpass*')" ] || fail "PGPASSFILE left in workdir"

id=$(ls "$KB_TMP/backups/test/orders/backups")
[ -f "$KB_TMP/backups/test/orders/backups/$id/manifest.json" ] || fail "no manifest"
grep -q '"engine": "postgres"' "$KB_TMP/backups/test/orders/backups/$id/manifest.json"
! grep -aq "$PG_PASSWORD" -r "$KB_TMP/backups" || fail "password in storage"

say "list"
run_runner -c "$KB_TMP/kb.conf" list
expect_rc 0 "list"
assert_contains "$KB_TMP/out" "$id" "list shows the backup"
run_runner -c "$KB_TMP/kb.conf" list --json
expect_rc 0 "list --json"
assert_contains "$KB_TMP/out" "\"sha256\"" "list --json"

say "restore into a new database, compare"
restore_copy_same pg_fingerprint shop shop_copy
[ "$(psql_q shop_copy 'SELECT count(*) FROM orders')" = 4000 ] || fail "row count"

say "drop a table, restore the backup by ID into the configured database"
psql_q shop "DROP TABLE orders CASCADE"
run_runner -c "$KB_TMP/kb.conf" restore "$id"
expect_rc 0 "restore by id"
pg_fingerprint shop >"$KB_TMP/c"
diff -u "$KB_TMP/a" "$KB_TMP/c" >/dev/null || fail "restore into the configured database differs"

say "restore of an unknown ID"
run_runner -c "$KB_TMP/kb.conf" restore 20200101T000000Z
expect_rc 1 "unknown id"
assert_contains "$KB_TMP/log" "no backup 20200101T000000Z" "unknown id message"

say "unpack gives pg_dump's own format"
run_runner -c "$KB_TMP/kb.conf" unpack latest -o "$KB_TMP/dump.pgc"
expect_rc 0 "unpack"
pg_restore -l "$KB_TMP/dump.pgc" | grep -q "TABLE DATA public orders" || fail "unpacked dump"

say "a second runner is refused while the first holds the lock"
mkdir -p "$KB_TMP/work/test.orders"
exec 9>"$KB_TMP/work/test.orders/lock"
python3 - "$KB_TMP/work/test.orders/lock" <<'PY' &
import fcntl, sys, time, os
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
f.seek(0); f.truncate(); f.write("%d\n" % os.getpid()); f.flush()
time.sleep(5)
PY
holder=$!
sleep 1
run_runner -c "$KB_TMP/kb.conf" --once
kill $holder 2>/dev/null || true
expect_rc 1 "second runner"
assert_contains "$KB_TMP/log" "another kbackup-runner for test/orders is running (pid $holder" "lock message"
echo ok
