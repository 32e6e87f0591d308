#!/usr/bin/env bash
# A runner whose clock is 20 minutes off a real S3 server's (Ceph RGW, which
# refuses a signature more than 15 minutes off its clock): the clock is
# corrected from the store's Date header, as kbackup.conf(5) says: for a
# backup and a list (RequestTimeTooSkewed in the listing's error body) and a
# wal-push of a file the archive holds already (it failed every time, and
# PostgreSQL kept its WAL).  A HEAD's 403 has no body; the runner corrects
# from its Date as well, but wal-push now reads archive.json before its HEAD,
# so this script no longer reaches that case first.  A wrong secret still
# fails.
. "$(dirname "$0")/../lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
[ -x "$RUNNER" ] || skip "$RUNNER not built"
faketime_setup
rgw_for_test


DB=$KB_TMP/app.db
sqlite3 "$DB" "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x');"
s3_sqlite_config "$DB" db >"$KB_TMP/kb.conf"
chmod 600 "$KB_TMP/kb.conf"

say "a backup and a list, the clock 20 minutes ahead and behind"
for off in +20m -20m; do
	run_skewed "$off" -c "$KB_TMP/kb.conf" --once
	expect_rc 0 "backup with the clock $off"
	assert_contains "$KB_TMP/log" "signing on the store's clock" "the correction said ($off)"
	run_skewed "$off" -c "$KB_TMP/kb.conf" list
	expect_rc 0 "list with the clock $off"
done

say "wal-push of a file archived already: a GET of archive.json, then a HEAD"
# A WAL segment's first page: magic, XLP_LONG_HEADER, timeline 1, its
# address, the system id, segment and page size; the rest zeros.
mkdir -p "$KB_TMP/pg_wal"
seg=$KB_TMP/pg_wal/000000010000000000000001
python3 - "$seg" <<'PY'
import struct, sys
size = 16 << 20
head = struct.pack('<HHIQIIQII', 0xD110, 2, 1, size, 0, 0, 7000000000000000001, size, 8192)
with open(sys.argv[1], 'wb') as f:
	f.write(head + bytes(size - len(head)))
PY
{
	sed '/^\[storage\]/,$d; s/^engine = sqlite/engine = postgres/; /^\[sqlite\]/,/^$/d' \
		"$KB_TMP/kb.conf"
	printf "[postgres]\nmethod = physical\nhost = /nonexistent\ndatabase = postgres\n\n"
	S3_PREFIX=kbwal s3_storage_section </dev/null
} >"$KB_TMP/pg.conf"
chmod 600 "$KB_TMP/pg.conf"
run_runner -c "$KB_TMP/pg.conf" wal-push "$seg"
expect_rc 0 "wal-push on the real clock"
for off in +20m -20m; do
	run_skewed "$off" -c "$KB_TMP/pg.conf" wal-push "$seg"
	expect_rc 0 "wal-push again with the clock $off"
	assert_contains "$KB_TMP/log" "already archived, with the same content" "wal-push ($off)"
	assert_contains "$KB_TMP/log" "signing on the store's clock" "the correction said ($off)"
done

say "a wrong secret still fails, at once"
sed 's|^secret_key = .*|secret_key = wrong-secret|' "$KB_TMP/pg.conf" >"$KB_TMP/bad.conf"
chmod 600 "$KB_TMP/bad.conf"
run_runner -c "$KB_TMP/bad.conf" wal-push "$seg"
expect_rc 1 "wal-push with a wrong secret"
grep -qE 'HTTP status 403|\(HTTP 403' "$KB_TMP/log" || fail "the refusal named no 403: $(tail -2 "$KB_TMP/log")"
echo ok
