#!/usr/bin/env bash
# SQLite → kbackup-runner --once → a directory → restore to another path and
# over the original: every table equal, integrity_check ok, no temporary file
# left in workdir or next to the target.  A dump of a missing file fails
# with nothing committed.
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
[ -z "$(ls -A "$KB_TMP/work" | grep -v '\.lock$' || true)" ] ||
	fail "left in workdir: $(ls -A "$KB_TMP/work")"
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
[ -z "$(ls -A "$KB_TMP/work" | grep -v '\.lock$' || true)" ] ||
	fail "left in workdir after failure: $(ls -A "$KB_TMP/work")"
echo ok
