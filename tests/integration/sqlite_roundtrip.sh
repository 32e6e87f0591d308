#!/usr/bin/env bash
# SQLite → kbackup-runner --once → a directory → restore to another path and
# over the original: every table equal, integrity_check ok, no temporary file
# left in workdir or next to the target.  A dump of a missing file fails
# with nothing committed.  verify --restore into a scratch file: exact
# counts, --target and its refusals; nothing left after a success or a
# failure.  SIGKILL during verify --restore (restoring, counting) leaves a
# scratch file in the scratch directory, which a backup taking the lock
# does not touch and check reports as in use while its run goes on; the
# next verify --restore drops it.  A restore killed half-way leaves its
# temporary next to the target; the next restore removes it and says so.
# Backups one after the other within a second: restore latest is the last.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
DB=$KB_TMP/data/app.db
mkdir -p "$KB_TMP/data"
sqlite3 "$DB" >/dev/null <<'SQL'
PRAGMA journal_mode = WAL;
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance REAL,
	avatar BLOB, born TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO customers SELECT i, 'name ' || i || ' ü€ "q''uoted"', i * 1.25,
	randomblob(32), date('1970-01-01', '+' || i || ' days') FROM n;
CREATE TABLE "odd ""name""" (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
INSERT INTO "odd ""name""" VALUES ('a', 1), ('b', NULL), ('c', x'00ff');
CREATE INDEX customers_name ON customers(name);
CREATE VIEW rich AS SELECT * FROM customers WHERE balance > 1000;
CREATE TRIGGER t AFTER DELETE ON customers BEGIN
	INSERT INTO "odd ""name""" VALUES (old.name, 0);
END;
SQL
fingerprint() { sqlite3 "$1" .dump; }

write_engine_config "$KB_TMP/kb.conf" sqlite <<EOF
path = $DB
EOF

say "check"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check"

say "backup while another connection holds a write transaction open"
( sqlite3 "$DB" "BEGIN IMMEDIATE; INSERT INTO customers (id, name) VALUES (99999, 'uncommitted');
	SELECT 1;" >/dev/null; ) &
wait
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
assert_contains "$KB_TMP/log" 'msg="backup committed"' "backup log"
assert_workdir_clean "$KB_TMP/work" "workdir"
id=$(ls "$KB_TMP/backups/test/db/backups")
grep -q '"engine": "sqlite"' "$KB_TMP/backups/test/db/backups/$id/manifest.json" || fail "manifest"

say "restore to another path"
run_runner -c "$KB_TMP/kb.conf" restore latest --database "$KB_TMP/data/copy.db"
expect_rc 0 "restore to another path"
fingerprint "$DB" >"$KB_TMP/a"
fingerprint "$KB_TMP/data/copy.db" >"$KB_TMP/b"
diff -u "$KB_TMP/a" "$KB_TMP/b" >"$KB_TMP/diff" || fail "restored file differs: $(head "$KB_TMP/diff")"
assert_eq "$(sqlite3 "$KB_TMP/data/copy.db" 'PRAGMA integrity_check')" ok "integrity"
assert_eq "$(sqlite3 "$KB_TMP/data/copy.db" 'SELECT count(*) FROM customers')" 3000 "rows"

say "change the original, restore over it"
sqlite3 "$DB" "DELETE FROM customers WHERE id > 10; DROP VIEW rich;
	PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
run_runner -c "$KB_TMP/kb.conf" restore "$id"
expect_rc 0 "restore over the original"
fingerprint "$DB" >"$KB_TMP/c"
diff -u "$KB_TMP/a" "$KB_TMP/c" >/dev/null || fail "restore over the original differs"
[ -z "$(ls -A "$KB_TMP/data" | grep kbtmp || true)" ] ||
	fail "temporary file left: $(ls -A "$KB_TMP/data")"

say "restore refused while a WAL is in use next to the target"
cp "$DB" "$KB_TMP/data/busy.db"
printf 'x' >"$KB_TMP/data/busy.db-wal"
run_runner -c "$KB_TMP/kb.conf" restore latest --database "$KB_TMP/data/busy.db"
expect_rc 1 "restore onto a busy database"
assert_contains "$KB_TMP/log" "busy.db-wal exists" "wal message"

# verify --restore: the scratch database is a file in workdir.  Every table
# with its count(*) as sqlite3 counts it; nothing left in workdir (but the
# lock) or next to the database afterwards, whatever happened.
sq_counts() {	# file
	local t
	sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY 1" |
	while IFS= read -r t; do
		printf '%s\t%s\n' "$t" "$(sqlite3 "$1" "SELECT count(*) FROM \"${t//\"/\"\"}\"")"
	done
}
verify_counts() {	# file what
	sq_counts "$1" >"$KB_TMP/expected"
	grep -P '\t' "$KB_TMP/out" >"$KB_TMP/got" || true
	diff -u "$KB_TMP/expected" "$KB_TMP/got" >"$KB_TMP/diff" ||
		fail "$2: counts differ from sqlite3's: $(cat "$KB_TMP/diff")"
}
nothing_left() {	# what
	assert_workdir_clean "$KB_TMP/work" "$1"
	assert_eq "$(data_files)" "$data_before" "$1: files next to the database"
}
# app.db's -wal and -shm come and go with the test's own sqlite3.
data_files() { ls -A "$KB_TMP/data" | grep -Ev '^app\.db-(wal|shm)$' | tr '\n' ' '; }

say "verify --restore latest"
sqlite3 "$DB" "CREATE TABLE sqlite1 (x); INSERT INTO sqlite1 VALUES (1), (2);
	CREATE TABLE empty (x); CREATE TABLE \"it's\" (x); INSERT INTO \"it's\" VALUES (1);
	PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
sleep 1	# IDs are per second
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup for verify"
vid=$(ls "$KB_TMP/backups/test/db/backups" | sort | tail -n 1)
data_before=$(data_files)
run_runner -c "$KB_TMP/kb.conf" verify --restore latest
expect_rc 0 "verify --restore latest"
cat "$KB_TMP/out"
verify_counts "$DB" "verify --restore latest"
assert_contains "$KB_TMP/out" "$vid ok: restored" "summary line"
assert_contains "$KB_TMP/out" "into $KB_TMP/work/test.db/scratch/kbackup_verify_" "scratch file in workdir"
assert_contains "$KB_TMP/out" "5 tables, 3006 rows; dropped it" "summary counts"
nothing_left "verify --restore"

say "SIGKILL during verify --restore: while it runs, a backup and check leave its file; the next run drops it"
scratch=$KB_TMP/work/test.db/scratch
pause_wrapper "$KB_TMP/wrap" sqlite3 "$(command -v sqlite3)"
write_engine_config "$KB_TMP/pause.conf" sqlite <<EOF
path = $DB
sqlite3 = $KB_TMP/wrap/sqlite3
EOF
run_runner_until_paused 'count(*) FROM "' -c "$KB_TMP/pause.conf" verify --restore latest
run_runner -c "$KB_TMP/kb.conf" --once	# takes the lock, empties tmp/
expect_rc 0 "a backup while verify --restore counts"
ls "$scratch" | grep -q '^kbackup_verify_.*\.db$' || fail "the running verify's file was removed"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check while verify --restore counts"
assert_contains "$KB_TMP/out" "left alone" "check leaves the running one's file"
assert_contains "$KB_TMP/out" "in use by process $KB_PAUSED_RUNNER" "check names the running process"
kill9_paused_runner
ls "$scratch" | grep -q '^kbackup_verify_.*\.db$' || fail "SIGKILL at the count left no file"
# Killed while restoring: the file is still the restore's temporary one.
run_runner_kill9_at "integrity_check" -c "$KB_TMP/pause.conf" verify --restore latest
assert_contains "$KB_TMP/paused.log" 'msg="dropped the scratch database a killed run left"' \
	"the next run drops the first killed run's file"
assert_eq "$(ls -A "$scratch" | grep -c '^\.kbackup_verify_.*\.db\.kbtmp\.')" 1 \
	"SIGKILL while restoring leaves the temporary file"
run_runner -c "$KB_TMP/kb.conf" verify --restore latest
expect_rc 0 "verify --restore after a killed one"
assert_contains "$KB_TMP/log" 'msg="dropped the scratch database a killed run left"' \
	"the second killed run's file dropped"
assert_eq "$(ls -A "$scratch")" "" "scratch directory after the sweep"
nothing_left "verify --restore after killed runs"

say "verify --restore --target: a new path is used and removed, an existing file refused"
run_runner -c "$KB_TMP/kb.conf" verify --restore "$vid" --target "$KB_TMP/scratch dir/it's.db"
expect_rc 1 "--target in a missing directory"
mkdir "$KB_TMP/scratch dir"
run_runner -c "$KB_TMP/kb.conf" verify --restore "$vid" --target "$KB_TMP/scratch dir/it's.db"
expect_rc 0 "verify --restore --target"
verify_counts "$DB" "verify --restore --target"
assert_eq "$(ls -A "$KB_TMP/scratch dir")" "" "--target left behind"
run_runner -c "$KB_TMP/kb.conf" verify --restore latest --target "$DB"
expect_rc 2 "--target the configured database"
assert_contains "$KB_TMP/log" "the --target database exists" "message"
echo "not a database, but somebody's file" >"$KB_TMP/data/notes.txt"
data_before=$(data_files)
run_runner -c "$KB_TMP/kb.conf" verify --restore latest --target "$KB_TMP/data/notes.txt"
expect_rc 2 "--target an existing file that is not a database"
assert_contains "$KB_TMP/log" "the --target database exists" "message"
assert_eq "$(cat "$KB_TMP/data/notes.txt")" "not a database, but somebody's file" "file kept"
nothing_left "refused --target"

say "verify --restore of a corrupt backup fails and leaves no file"
verify_restore_corrupt "$KB_TMP/kb.conf" "$KB_TMP/backups/test/db/backups" "$vid"
nothing_left "verify --restore of a corrupt backup"

say "verify --restore whose count fails after the restore leaves no file"
# sqlite3 through a wrapper that fails the generated count(*) statements
# (the runner gives sqlite3 its SQL on stdin).
cat >"$KB_TMP/sqlite3-nocount" <<'EOF'
#!/bin/sh
in=$(cat)
case $in in *'count(*) FROM "'*) echo "refusing to count" >&2; exit 1 ;; esac
printf '%s\n' "$in" | sqlite3 "$@"
EOF
chmod 755 "$KB_TMP/sqlite3-nocount"
write_engine_config "$KB_TMP/nocount.conf" sqlite <<EOF
path = $DB
sqlite3 = $KB_TMP/sqlite3-nocount
EOF
run_runner -c "$KB_TMP/nocount.conf" verify --restore "$vid"
expect_rc 1 "verify --restore, count fails"
assert_contains "$KB_TMP/out" "$vid FAILED counting rows in" "failure line"
assert_contains "$KB_TMP/log" "refusing to count" "the tool's message"
assert_contains "$KB_TMP/log" 'msg="dropped the scratch database"' "drop logged"
nothing_left "verify --restore whose count failed"

say "verify --restore of a database with 3000 tables (the count SQL is longer than an argument may be)"
for i in $(seq 1 3000); do
	printf 'CREATE TABLE t_with_a_long_name_%04d (a); INSERT INTO t_with_a_long_name_%04d VALUES (%d);\n' "$i" "$i" "$i"
done | sqlite3 "$KB_TMP/data/many.db"
write_engine_config "$KB_TMP/many.conf" sqlite "$KB_TMP/many-backups" <<EOF
path = $KB_TMP/data/many.db
EOF
run_runner -c "$KB_TMP/many.conf" --once
expect_rc 0 "backup of 3000 tables"
run_runner -c "$KB_TMP/many.conf" verify --restore latest
expect_rc 0 "verify --restore of 3000 tables"
assert_contains "$KB_TMP/out" "3000 tables, 3000 rows" "3000 tables counted"
assert_contains "$KB_TMP/out" "t_with_a_long_name_3000	1" "the last table"
rm -f "$KB_TMP/data/many.db"
data_before=$(data_files)

say "a failed dump commits nothing"
write_engine_config "$KB_TMP/bad.conf" sqlite "$KB_TMP/bad-backups" <<EOF
path = $KB_TMP/data/missing.db
EOF
run_runner -c "$KB_TMP/bad.conf" --once
expect_rc 1 "dump of a missing file"
assert_contains "$KB_TMP/log" "missing.db" "failure message"
expect_nothing_stored "$KB_TMP/bad-backups" "failed dump"
[ ! -e "$KB_TMP/data/missing.db" ] || fail "the backup created the missing database"
for _ in $(seq 1 100); do echo "not a database at all"; done >"$KB_TMP/data/garbage.db"
write_engine_config "$KB_TMP/bad.conf" sqlite "$KB_TMP/bad-backups" <<EOF
path = $KB_TMP/data/garbage.db
EOF
run_runner -c "$KB_TMP/bad.conf" --once
expect_rc 1 "dump of a file that is not a database"
assert_contains "$KB_TMP/log" "backup failed" "failure message"
expect_nothing_stored "$KB_TMP/bad-backups" "failed dump"
assert_workdir_clean "$KB_TMP/work" "workdir after failure"

say "a restore killed half-way: the next restore removes its temporary"
sqlite3 "$KB_TMP/data/big.db" "CREATE TABLE b (x BLOB);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 512)
	INSERT INTO b SELECT randomblob(65536) FROM n"
write_engine_config "$KB_TMP/big.conf" sqlite "$KB_TMP/big-backups" <<EOF
path = $KB_TMP/data/big.db
EOF
sed -i "s|^workdir = .*|workdir = $KB_TMP/work-big|" "$KB_TMP/big.conf"
run_runner -c "$KB_TMP/big.conf" --once
expect_rc 0 "backup of a 32 MiB file"
temps() { ls -A "$KB_TMP/data" | grep '^\.bigcopy\.db\.kbtmp\.' || true; }
"$RUNNER" -c "$KB_TMP/big.conf" restore latest --database "$KB_TMP/data/bigcopy.db" \
	>/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do [ -z "$(temps)" ] || break; sleep 0.01; done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
left=$(temps)
[ -n "$left" ] || fail "the killed restore left no temporary to test with"
run_runner -c "$KB_TMP/big.conf" restore latest --database "$KB_TMP/data/bigcopy.db"
expect_rc 0 "restore after a killed one"
assert_contains "$KB_TMP/log" "msg=\"removed what a killed restore left\" file=$KB_TMP/data/$left" \
	"the killed restore's temporary removed and said so"
assert_eq "$(temps)" "" "temporaries next to the target"
assert_eq "$(sqlite3 "$KB_TMP/data/bigcopy.db" 'SELECT count(*) FROM b')" 512 "rows restored"
say "backups in quick succession: latest is the last one taken"
sqlite3 "$KB_TMP/data/quick.db" "CREATE TABLE q (n INTEGER)"
write_engine_config "$KB_TMP/quick.conf" sqlite "$KB_TMP/quick-backups" <<EOF
path = $KB_TMP/data/quick.db
EOF
sed -i "s|^workdir = .*|workdir = $KB_TMP/work-quick|" "$KB_TMP/quick.conf"
for n in 1 2 3 4 5 6; do
	sqlite3 "$KB_TMP/data/quick.db" "DELETE FROM q; INSERT INTO q VALUES ($n)"
	run_runner -c "$KB_TMP/quick.conf" --once
	expect_rc 0 "quick backup $n"
	rm -f "$KB_TMP/data/quick-copy.db"
	run_runner -c "$KB_TMP/quick.conf" restore latest --database "$KB_TMP/data/quick-copy.db"
	expect_rc 0 "restore latest after quick backup $n"
	assert_eq "$(sqlite3 "$KB_TMP/data/quick-copy.db" 'SELECT n FROM q')" "$n" \
		"latest after backup $n"
done
echo ok
